//! `cargo xtask ci-regress` catches each deliberate bug of `vpbench_models::faults`: every
//! injected fault fails the check against the committed baseline, run on the models it
//! touches (the faster ones where it touches all).

use std::process::Command;

fn ci_regress(fault: &str, models: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["ci-regress", "--inject-fault", fault, "--models", models])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn every_injected_fault_is_caught() {
    let cases = [
        ("mk-lstm-swapped-gate", "tms-lstm,ms-lstm"),
        ("convlstm-kernel-5", "convlstm,sms-lstm"),
        ("pyramid-dropped-skip", "sms-lstm,ms-lstm"),
        ("learning-rate-halved", "sms-lstm"),
        ("scheduled-sampling-off-by-one", "sms-lstm"),
    ];
    // the list covers every fault point there is
    let mut names: Vec<&str> = cases.iter().map(|(f, _)| *f).collect();
    let mut known: Vec<&str> = vpbench_models::faults::FAULTS.iter().map(|(f, _)| *f).collect();
    names.sort();
    known.sort();
    assert_eq!(names, known);
    for (fault, models) in cases {
        let (passed, text) = ci_regress(fault, models);
        assert!(!passed, "{fault} was not caught:\n{text}");
        assert!(text.contains(&format!("fault injected: {fault}")) && text.contains("REGRESSION"), "{fault}:\n{text}");
        // each model it touches is reported, not only one of them
        for model in models.split(',') {
            assert!(text.contains(&format!("REGRESSION {model}:")), "{fault}: {model} not caught:\n{text}");
        }
    }
}

#[test]
fn without_a_fault_the_models_match_the_baseline() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask")).args(["ci-regress", "--models", "sms-lstm"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("1 passed, 0 failed"), "{text}");
}

#[test]
fn an_unknown_fault_is_named_with_the_known_ones() {
    let (passed, text) = ci_regress("no-such-fault", "sms-lstm");
    assert!(!passed && text.contains("unknown fault 'no-such-fault'") && text.contains("mk-lstm-swapped-gate"), "{text}");
}
