//! Files and folders written whole or not at all, and durable once written.
//!
//! Every write goes to a temporary beside its target (`tempfile`, so names never collide
//! between processes), is flushed to disk (`fsync` of the file), renamed over the target,
//! and the rename itself is made durable (`fsync` of the folder). A crash at any point
//! leaves the old file or the new one, never a half-written one. Files and folders get the
//! modes any other program's would (0666 and 0777 less the umask: 0644 and 0755 under the
//! usual 022), not a temporary's private 0600, so that a group or a web server can read them.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;

/// Writes `bytes` to `path` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_with(path, |file| Ok(file.write_all(bytes)?))
}

/// Writes `path` atomically and durably through `fill`, which writes the file's contents
/// into the temporary it is given (for contents that stream, e.g. a child process's output).
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let dir = parent_dir(path)?;
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(path)))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    fill(file.as_file_mut())
        .and_then(|()| Ok(file.as_file().sync_all()?))
        .with_context(|| format!("cannot write {}", file.path().display()))?;
    file.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot move {} to {}: {}", e.file.path().display(), path.display(), e.error))?;
    sync_dir(dir)
}

/// Fills a fresh folder through `fill`, then swaps it in for `dir` (any old `dir` is
/// replaced). Every file `fill` writes is flushed before the swap.
pub fn replace_dir_atomic(dir: &Path, fill: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let parent = parent_dir(dir)?;
    let fresh = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(dir)))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o777))
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a temporary folder in {}", parent.display()))?;
    fill(fresh.path())?;
    for entry in std::fs::read_dir(fresh.path())? {
        let path = entry?.path();
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot flush {}", path.display()))?;
    }
    sync_dir(fresh.path())?;
    // A folder cannot be renamed over a non-empty one: the old one goes first. A crash
    // between the two leaves no folder, which readers treat as no checkpoint yet.
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove the old {}", dir.display()))?;
    }
    let fresh = fresh.keep();
    std::fs::rename(&fresh, dir).with_context(|| format!("cannot move {} to {}", fresh.display(), dir.display()))?;
    sync_dir(parent)
}

/// The folder of `path` (made if missing).
fn parent_dir(path: &Path) -> anyhow::Result<&Path> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned())
}

/// Makes the entries of `dir` (a rename into it) durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot flush folder {}", dir.display()))
}

#[cfg(test)]
mod tests {
    /// The process's umask, as Linux reports it.
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
    }

    #[test]
    fn written_files_and_folders_take_the_umask_not_a_private_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("record.json");
        super::write_atomic(&file, b"{}").unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask(), "file mode {mode:o}");
        let folder = dir.path().join("checkpoint");
        super::replace_dir_atomic(&folder, |d| super::write_atomic(&d.join("state.json"), b"{}")).unwrap();
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o777 & !umask(), "folder mode {mode:o}");
    }

    use super::*;

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/record.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("record.json")]);
    }

    #[test]
    fn a_failed_fill_leaves_the_old_folder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("checkpoint");
        replace_dir_atomic(&target, |d| Ok(std::fs::write(d.join("a"), b"1")?)).unwrap();
        let failed = replace_dir_atomic(&target, |d| {
            std::fs::write(d.join("a"), b"2")?;
            anyhow::bail!("interrupted")
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(target.join("a")).unwrap(), b"1");
        // the failed attempt's temporary folder is gone with its guard
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        replace_dir_atomic(&target, |d| Ok(std::fs::write(d.join("b"), b"3")?)).unwrap();
        assert!(!target.join("a").exists() && target.join("b").is_file());
    }
}
