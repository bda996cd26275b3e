//! The embedded `configs/` (include_dir) is rebuilt when any file under it changes.
fn main() {
    println!("cargo:rerun-if-changed=../configs");
}
