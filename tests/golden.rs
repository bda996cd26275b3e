//! Every model reproduces the authors' PyTorch outputs, loss and gradients (relative error
//! under 1e-4) at the golden files' small sizes, through the training path (autodiff) and the
//! evaluation path (the test pass's forward, no autodiff); and at the project's own extra
//! configurations (`tests/fixtures/golden`, made by `scripts/golden/make_golden.py` from the
//! authors' code) at every vector level of the CPU kernels this machine runs.

use burn::tensor::Device;
use vpbench_models::golden::{GoldenOutcome, verify_golden};
use vpbench_tests::golden_file;

const TOLERANCE: f64 = 1e-4;

fn check(id: &str) {
    let report = verify_golden(&golden_file(id), &Device::flex()).unwrap_or_else(|e| panic!("{id}: {e}"));
    let GoldenOutcome::Checked { errors } = &report.outcome else {
        panic!("{id}: skipped: {:?}", report.outcome);
    };
    // the output, the loss and one gradient per state-dict entry
    let keys = std::fs::read_to_string(
        golden_file(id)
            .with_extension("")
            .parent()
            .unwrap()
            .join("../keys")
            .join(format!("{id}.txt")),
    )
    .map(|k| {
        k.lines()
            // parameters only: buffers (Earthformer's relative_position_index) have no gradient
            .filter(|l| !l.starts_with('#') && !l.starts_with("key") && !l.trim().is_empty())
            .filter(|l| !l.split_whitespace().any(|w| w == "buffer"))
            .count()
    })
    .unwrap_or_else(|e| panic!("{id}: key list: {e}"));
    // the outputs twice (training and evaluation path), the loss, one gradient per entry
    assert_eq!(errors.len(), 3 + keys, "{id}: compared tensors");
    for e in errors {
        assert!(
            e.relative_error <= TOLERANCE,
            "{id}: {} relative error {:e} > {TOLERANCE:e}",
            e.name,
            e.relative_error
        );
    }
}

macro_rules! golden_tests {
    ($($test:ident => $id:literal),* $(,)?) => {
        $(#[test] fn $test() { check($id); })*
    };
}

golden_tests! {
    convlstm => "convlstm",
    trajgru => "trajgru",
    predrnn => "predrnn",
    predrnn_pp => "predrnn-pp",
    predrnn_v2 => "predrnn-v2",
    mim => "mim",
    motionrnn => "motionrnn",
    preciplstm => "preciplstm",
    cms_lstm => "cms-lstm",
    modernn => "modernn",
    sms_lstm => "ms-convlstm",
    tms_lstm => "mk-lstm",
    ms_lstm => "ms-lstm",
    // built from the official constructor's arguments, MSE on the future frames
    simvp => "simvp",
    earthformer => "earthformer",
    ms_trajgru => "ms-trajgru",
    ms_predrnn => "ms-predrnn",
    ms_predrnn_pp => "ms-predrnn-pp",
    ms_predrnn_v2 => "ms-predrnn-v2",
    ms_mim => "ms-mim",
    ms_motionrnn => "ms-motionrnn",
    ms_preciplstm => "ms-preciplstm",
    ms_cms_lstm => "ms-cms-lstm",
    ms_modernn => "ms-modernn",
}

#[test]
fn every_public_golden_file_has_a_test() {
    let dir = golden_file("convlstm").parent().unwrap().to_path_buf();
    let tested = include_str!("golden.rs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let id = entry
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(
            tested.contains(&format!("=> \"{id}\"")),
            "no golden test for {id}"
        );
    }
}

/// The authors' checkpoints load: a golden file's weights saved as their code saves them
/// (`torch.save` of a DistributedDataParallel state dict, every name after `module.`) give
/// the golden outputs. The checkpoint is written at test time by
/// tests/fixtures/pth/write_pth.py where Python has torch, else the committed one it wrote.
#[test]
fn a_pytorch_checkpoint_of_the_authors_code_reproduces_the_golden_outputs() {
    use burn::tensor::Tensor;
    use vpbench_models::golden::{GoldenFile, relative_error};
    use vpbench_models::{Feeding, registry};

    let golden = golden_file("convlstm");
    let pth = pytorch_checkpoint_of(&golden);
    let file = GoldenFile::open(&golden).unwrap();
    let config = file.config().unwrap();
    let device = Device::flex();
    let mut from_pth = registry::build("convlstm", &config, &device).unwrap();
    from_pth.load_pytorch_checkpoint(&pth).unwrap();
    let mut from_golden = registry::build("convlstm", &config, &device).unwrap();
    from_golden.load_pytorch_safetensors(&golden, "param.").unwrap();

    let batch = file.meta_usize("batch").unwrap();
    let shape = [batch, config.seq_len(), config.image_channels, config.height, config.width];
    let frames = Tensor::<5>::from_data(file.tensor("frames", Some(&shape)).unwrap(), &device);
    let values = |m: &vpbench_models::Model| {
        let out = m.forward(frames.clone(), &Feeding::Autoregressive).unwrap();
        out.predictions.into_data().try_to_vec::<f32>().unwrap()
    };
    let (got, same_weights) = (values(&from_pth), values(&from_golden));
    assert_eq!(got, same_weights, "the .pth and the golden file hold the same weights");
    let mut expected_shape = shape;
    expected_shape[1] -= 1;
    let expected = file.tensor("expected", Some(&expected_shape)).unwrap().try_to_vec::<f32>().unwrap();
    let error = relative_error(&got, &expected);
    assert!(error < TOLERANCE, "output relative error {error:e}");

    // a checkpoint of another model is refused, naming what is missing
    let mut other = registry::build("predrnn", &config, &device).unwrap();
    let e = other.load_pytorch_checkpoint(&pth).unwrap_err().to_string();
    assert!(e.contains("convlstm.pth") && e.contains("missing"), "{e}");
}

/// tests/fixtures/pth/convlstm.pth written again from `golden` by the fixture script if a
/// Python with torch is at hand (the project's .venv-torch first), else the committed file.
fn pytorch_checkpoint_of(golden: &std::path::Path) -> std::path::PathBuf {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pth");
    let committed = fixtures.join("convlstm.pth");
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-torch/bin/python");
    for python in [venv.to_string_lossy().to_string(), "python3".to_string()] {
        let has_torch = std::process::Command::new(&python).args(["-c", "import torch"]).output();
        if !has_torch.is_ok_and(|o| o.status.success()) {
            continue;
        }
        let dir = std::env::temp_dir().join(format!("vpbench-pth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("convlstm.pth");
        let status = std::process::Command::new(&python)
            .arg(fixtures.join("write_pth.py"))
            .arg(golden)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "{python} write_pth.py failed");
        return out;
    }
    eprintln!("no Python with torch: using the committed {}", committed.display());
    committed
}

/// The project's own golden files: odd and non-square frames (pyramids whose lowest level is
/// odd, 3x3 or 2x2), two and three channels, hidden sizes that are not multiples of 8,
/// batches of 1 and 3, in_len != out_len (`tests/fixtures/golden/MANIFEST.md`).
fn extra_golden_files() -> Vec<std::path::PathBuf> {
    vpbench_tests::safetensors_in(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden"))
}

/// Every extra file passes through both paths, at every kernel level this CPU runs
/// (`VPBENCH_ISA`'s levels, forced in-process), and every registered recurrent model has
/// at least one extra file.
#[test]
fn extra_golden_files_pass_at_every_kernel_level() {
    use vpbench_kernels::simd::{clear_forced_level, force_level, runnable_levels};
    let files = extra_golden_files();
    for level in runnable_levels() {
        force_level(level);
        let mut failures = Vec::new();
        for file in &files {
            let report = verify_golden(file, &Device::flex()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let worst = report.max_error();
            if !report.passed(TOLERANCE) {
                let GoldenOutcome::Checked { errors } = &report.outcome else { panic!("{}: skipped", file.display()) };
                let bad: Vec<_> = errors.iter().filter(|e| !(e.relative_error <= TOLERANCE)).map(|e| format!("{} {:.2e}", e.name, e.relative_error)).collect();
                failures.push(format!("{} ({worst:?}): {}", file.display(), bad.join(", ")));
            }
        }
        clear_forced_level();
        assert!(failures.is_empty(), "{level:?}: {} of {} files fail:\n{}", failures.len(), files.len(), failures.join("\n"));
        println!("{level:?}: {} extra golden files passed", files.len());
    }
    for entry in vpbench_models::registry::MODELS.iter().filter(|e| e.family == "RNN") {
        let covered = files.iter().any(|f| {
            let id = f.file_name().unwrap().to_string_lossy().split('.').next().unwrap().to_string();
            vpbench_models::registry::lookup(&id).is_ok_and(|e| e.name == entry.name)
        });
        assert!(covered, "no extra golden file for {}", entry.name);
    }
}
