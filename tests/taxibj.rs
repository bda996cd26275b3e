//! TaxiBJ: the DeepST year files (HDF5, written here by hdf5-pure and once by h5py), OpenSTL's
//! npz, the authors' pipeline and its quirks, the common layout, errors and the synthetic city.

use std::io::Write;
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;
use vpbench_datasets::taxibj::{
    self, BJ_FILES, FlowYear, TaxiBjLayout, TaxiBjOptions, build_clips, read_bj_folder,
    read_bj_year, read_openstl_npz, synthetic_flows,
};
use vpbench_datasets::Provenance;
use vpbench_datasets::taxibj::TaxiBj;
use vpbench_harness::data::{DataSource, prepare};
use vpbench_harness::experiment::Experiment;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vpbench-taxibj-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `YYYYMMDDSS` of row `r` of complete days from `first_day` of July 2013.
fn stamp(day_of_july: usize, slot: usize) -> String {
    format!("201307{day_of_july:02}{slot:02}")
}

/// A year file in DeepST's layout: `data` (N, 2, h, w) f64, `date` (N,) |S10.
fn write_year(path: &Path, stamps: &[String], side: usize, value: impl Fn(usize, usize) -> f64) {
    let plane = side * side;
    let mut data = Vec::with_capacity(stamps.len() * 2 * plane);
    for r in 0..stamps.len() {
        for c in 0..2 {
            data.extend((0..plane).map(|_| value(r, c)));
        }
    }
    let mut file = hdf5_pure::FileBuilder::new();
    file.create_dataset("data")
        .with_f64_data(&data)
        .with_shape(&[stamps.len() as u64, 2, side as u64, side as u64]);
    let refs: Vec<&str> = stamps.iter().map(String::as_str).collect();
    file.create_dataset("date")
        .with_ascii_strings_sized(&refs, 10)
        .unwrap();
    std::fs::write(path, file.finish().unwrap()).unwrap();
}

fn days(list: &[usize]) -> Vec<String> {
    list.iter()
        .flat_map(|&d| (1..=48).map(move |s| stamp(d, s)))
        .collect()
}

fn provenance() -> Provenance {
    Provenance {
        synthetic: false,
        source: "test".into(),
    }
}

/// What `uint8(x * 255)` gives in numpy for a scaled value (truncation, low 8 bits).
fn authors_pixel(x: f64) -> u8 {
    ((x * 255.0).trunc() as i64).rem_euclid(256) as u8
}

#[test]
fn authors_pipeline_drops_incomplete_days_reverses_windows_and_wraps_test_outliers() {
    let dir = temp_dir("authors");
    // July 1 and 2 complete, July 3 only up to slot 40: dropped, as remove_incomplete_days does
    let mut stamps = days(&[1, 2]);
    stamps.extend((1..=40).map(|s| stamp(3, s)));
    let path = dir.join("year.h5");
    // inflow of row r is r + 0.25 (outflow 0), so every pixel names its row
    write_year(&path, &stamps, 2, |r, c| {
        if c == 0 { r as f64 + 0.25 } else { -3.0 }
    });
    let year = read_bj_year(&path).unwrap();
    assert_eq!(year.slots.len(), 136);
    let options = TaxiBjOptions {
        layout: TaxiBjLayout::Authors,
        len: 8,
        test_windows: 10,
    };
    let split = build_clips(vec![year], &options, provenance()).unwrap();
    assert!(
        split
            .warnings
            .iter()
            .any(|w| w.contains("1 incomplete days dropped")),
        "{:?}",
        split.warnings
    );
    // 96 complete rows, windows for rows 8..96: 88, the last 10 for test
    assert_eq!((split.train.count, split.test.count), (78, 10));
    assert_eq!(
        (split.train.len, split.train.channels, split.train.height),
        (8, 1, 2)
    );
    // min-max over rows 0..86 (negative outflows clamped to 0): min 0, max 85.25
    let pixel = |row: usize| authors_pixel((row as f64 + 0.25) / 85.25);
    // window of row 8: newest first, rows 7, 6, ..., 0
    let first: Vec<u8> = split.train.clip(0).chunks(4).map(|f| f[0]).collect();
    assert_eq!(first, (0..8).rev().map(pixel).collect::<Vec<_>>());
    // the last test window (row 95) holds rows 94..87, above the training maximum: wrapped
    let last: Vec<u8> = split.test.clip(9).chunks(4).map(|f| f[0]).collect();
    assert_eq!(last, (87..95).rev().map(pixel).collect::<Vec<_>>());
    // row 94: 94.25 / 85.25 x 255 = 281.9 -> 281 -> 25 after the wrap
    assert_eq!(last[0], 25);
    assert!(
        split
            .warnings
            .iter()
            .any(|w| w.contains("wraps them modulo 256"))
    );
    assert!(!split.train.provenance.synthetic);
    assert!(split.train.provenance.source.contains("time-reversed"));
}

#[test]
fn common_layout_keeps_both_channels_in_chronological_order() {
    let dir = temp_dir("common");
    let path = dir.join("year.h5");
    write_year(&path, &days(&[1, 2]), 1, |r, c| {
        if c == 0 { r as f64 } else { 100.0 - r as f64 }
    });
    let options = TaxiBjOptions {
        layout: TaxiBjLayout::Common,
        len: 8,
        test_windows: 8,
    };
    let split = build_clips(vec![read_bj_year(&path).unwrap()], &options, provenance()).unwrap();
    assert_eq!(split.train.channels, 2);
    // fit rows 0..88: values 0..100 (outflow 100 at row 0): x = v / 100, rounded
    let clip = split.train.clip(0);
    let expected: Vec<u8> = (0..8)
        .flat_map(|r| [r as f64, 100.0 - r as f64])
        .map(|v| (v / 100.0 * 255.0).round() as u8)
        .collect();
    assert_eq!(clip, &expected[..]);
    assert!(split.train.provenance.source.contains("chronological"));
}

#[test]
fn calendar_gaps_skip_windows_and_are_reported() {
    let dir = temp_dir("gaps");
    let path = dir.join("year.h5");
    // July 1 and July 3: the first 8 rows of July 3 lack their history
    write_year(&path, &days(&[1, 3]), 1, |r, _| r as f64);
    let options = TaxiBjOptions {
        layout: TaxiBjLayout::Authors,
        len: 8,
        test_windows: 10,
    };
    let split = build_clips(vec![read_bj_year(&path).unwrap()], &options, provenance()).unwrap();
    assert_eq!(split.train.count + split.test.count, 88 - 8);
    assert!(
        split
            .warnings
            .iter()
            .any(|w| w.starts_with("8 timestamps skipped")),
        "{:?}",
        split.warnings
    );
}

#[test]
fn reads_a_year_file_written_by_h5py() {
    // superblock 0 and symbol-table groups, as in the 2016 BJ files (see make_h5py_fixture.py)
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/taxibj/h5py_bj_year.h5");
    let year = read_bj_year(&path).unwrap();
    assert_eq!((year.slots.len(), year.height, year.width), (96, 2, 2));
    assert_eq!(year.slots[0].stamp(), "2013070101");
    assert_eq!(year.slots[95].stamp(), "2013070248");
    assert_eq!(year.slots[48].minutes - year.slots[47].minutes, 30);
    // row 5: inflow 5.0, 5.1, 5.2, 5.3; outflow the negatives
    let row5 = &year.flows[5 * 8..6 * 8];
    assert_eq!(row5, &[5.0, 5.1, 5.2, 5.3, -5.0, -5.1, -5.2, -5.3]);
}

#[test]
fn bad_year_files_name_the_file_and_what_was_expected() {
    let dir = temp_dir("errors");
    let message = |path: &Path| read_bj_year(path).err().unwrap().to_string();

    let path = dir.join("no_date.h5");
    let mut file = hdf5_pure::FileBuilder::new();
    file.create_dataset("data")
        .with_f64_data(&[0.0; 8])
        .with_shape(&[1, 2, 2, 2]);
    std::fs::write(&path, file.finish().unwrap()).unwrap();
    let m = message(&path);
    assert!(m.contains("no_date.h5") && m.contains("'date'"), "{m}");

    let path = dir.join("three_channels.h5");
    let mut file = hdf5_pure::FileBuilder::new();
    file.create_dataset("data")
        .with_f64_data(&[0.0; 3])
        .with_shape(&[1, 3, 1, 1]);
    file.create_dataset("date")
        .with_ascii_strings(&["2013070101"])
        .unwrap();
    std::fs::write(&path, file.finish().unwrap()).unwrap();
    let m = message(&path);
    assert!(
        m.contains("three_channels.h5") && m.contains("(N, 2, H, W)"),
        "{m}"
    );

    let path = dir.join("bad_slot.h5");
    write_year(
        &path,
        &["2013070101".into(), "2013070149".into()],
        1,
        |_, _| 1.0,
    );
    let m = message(&path);
    assert!(
        m.contains("bad_slot.h5") && m.contains("entry 1") && m.contains("2013070149"),
        "{m}"
    );

    let path = dir.join("not_hdf5.h5");
    std::fs::write(&path, b"plain text").unwrap();
    let m = message(&path);
    assert!(m.contains("not_hdf5.h5") && m.contains("HDF5"), "{m}");

    let m = read_bj_folder(&dir).err().unwrap().to_string();
    assert!(
        m.contains("BJ13_M32x32_T30_InOut.h5") && m.contains("missing"),
        "{m}"
    );
}

/// An npz archive as numpy's savez_compressed writes it: one deflated `<key>.npy` per array.
fn write_npz(path: &Path, arrays: &[(&str, Vec<u64>, Vec<f32>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (key, shape, values) in arrays {
        let mut bytes = Vec::new();
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut bytes)
            .begin_nd()
            .unwrap();
        writer.extend(values.iter().copied()).unwrap();
        writer.finish().unwrap();
        zip.start_file(format!("{key}.npy"), options).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn openstl_npz_gives_both_channels_x_then_y_mapped_to_unit_range() {
    let dir = temp_dir("npz");
    let path = dir.join("dataset.npz");
    // (N, T, 2, 1, 1): value = -1 + (2 t + c) / 8 so that each frame and channel is known
    let array = |n: usize, t: usize, offset: usize| -> Vec<f32> {
        (0..n)
            .flat_map(|_| {
                (0..t).flat_map(move |f| {
                    (0..2).map(move |c| -1.0 + (2 * (f + offset) + c) as f32 / 8.0)
                })
            })
            .collect()
    };
    write_npz(
        &path,
        &[
            ("X_train", vec![3, 4, 2, 1, 1], array(3, 4, 0)),
            ("Y_train", vec![3, 4, 2, 1, 1], array(3, 4, 4)),
            ("X_test", vec![2, 4, 2, 1, 1], array(2, 4, 0)),
            ("Y_test", vec![2, 4, 2, 1, 1], array(2, 4, 4)),
        ],
    );
    let (train, test) = read_openstl_npz(&path).unwrap();
    assert_eq!((train.count, train.len, train.channels), (3, 8, 2));
    assert_eq!(test.count, 2);
    let expected: Vec<u8> = (0..16)
        .map(|k| (((-1.0 + k as f64 / 8.0) + 1.0) / 2.0 * 255.0).round() as u8)
        .collect();
    assert_eq!(train.clip(2), &expected[..]);

    let partial = dir.join("partial.npz");
    write_npz(
        &partial,
        &[("X_train", vec![1, 4, 2, 1, 1], array(1, 4, 0))],
    );
    let m = read_openstl_npz(&partial).err().unwrap().to_string();
    assert!(
        m.contains("partial.npz") && m.contains("'Y_train' is missing"),
        "{m}"
    );
}

#[test]
fn synthetic_city_is_seeded_and_has_a_daily_and_weekly_rhythm() {
    let city = synthetic_flows(14, 16, 7);
    assert_eq!(city.slots.len(), 14 * 48);
    assert_eq!(city.flows, synthetic_flows(14, 16, 7).flows);
    assert_ne!(city.flows, synthetic_flows(14, 16, 8).flows);
    let plane = 16 * 16;
    let total_inflow = |year: &FlowYear, row: usize| -> f64 {
        year.flows[row * 2 * plane..row * 2 * plane + plane]
            .iter()
            .sum()
    };
    // 2013-07-01 was a Monday: 03:00 (slot 7) is quiet, 08:00 (slot 17) and 18:00 (slot 37) busy
    let (night, morning, evening) = (
        total_inflow(&city, 6),
        total_inflow(&city, 16),
        total_inflow(&city, 36),
    );
    assert!(
        morning > 3.0 * night && evening > 3.0 * night,
        "{night} {morning} {evening}"
    );
    // Saturday 6 July differs from Monday in the morning peak
    let saturday_morning = total_inflow(&city, 5 * 48 + 16);
    assert!(
        (saturday_morning - morning).abs() > 0.1 * morning,
        "{saturday_morning} vs {morning}"
    );
}

#[test]
fn the_harness_reads_a_folder_of_four_year_files_with_the_papers_test_split() {
    let dir = temp_dir("folder");
    // four files of eight complete days of 4x4 maps: 4 x (384 - 8) = 1504 windows
    for (k, name) in BJ_FILES.iter().enumerate() {
        write_year(
            &dir.join(name),
            &days(&(1..9).collect::<Vec<_>>()),
            4,
            |r, c| (r % 48) as f64 * (1.0 + c as f64) + k as f64,
        );
    }
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/table8.toml");
    let experiment = Experiment::load(&config).unwrap();
    let mut profile = experiment.profile("smoke").unwrap().clone();
    profile.frame_size = 2;
    profile.max_train_clips = None;
    profile.max_test_clips = None;
    let split = prepare(
        &TaxiBj,
        &DataSource::Path(dir.clone()),
        &profile,
    )
    .unwrap();
    assert_eq!(
        (split.train.count, split.test.count),
        (1504 - taxibj::PAPER_TEST_WINDOWS, 1344)
    );
    assert_eq!((split.train.height, split.train.channels), (2, 1));
    assert!(!split.info.synthetic && split.info.label.contains("BJ13-BJ16"));

    // OpenSTL's npz needs the common layout, and says so
    let npz = dir.join("dataset.npz");
    write_npz(&npz, &[("X_train", vec![1, 4, 2, 2, 2], vec![0.0; 32])]);
    let m = prepare(&TaxiBj, &DataSource::Path(npz), &profile)
        .err()
        .unwrap()
        .to_string();
    assert!(
        m.contains("dataset.npz") && m.contains("layout = \"common\""),
        "{m}"
    );
}
