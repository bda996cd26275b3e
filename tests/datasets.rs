//! Moving MNIST loaders on small files the tests write in each real format, the authors'
//! generator's properties, and the errors of corrupt input.

use std::io::Write;
use std::path::PathBuf;

use vpbench_datasets::moving_mnist::{
    self, DigitPool, GenerateOptions, MotionOptions, MovingMnistSource, generate, read_idx_images,
    npy_sequences_bytes, read_npy_sequences, synthetic_digits,
};
use vpbench_datasets::{Provenance, Sequences};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vpbench-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn options(clips: usize, seq_len: usize, seed: u64) -> GenerateOptions {
    GenerateOptions {
        clips,
        seq_len,
        seed,
        motion: MotionOptions::default(),
    }
}

fn small_sequences() -> Sequences {
    let (count, len, h, w) = (3, 4, 5, 6);
    Sequences {
        count,
        len,
        channels: 1,
        height: h,
        width: w,
        pixels: (0..count * len * h * w)
            .map(|i| (i * 7 % 256) as u8)
            .collect(),
        provenance: Provenance {
            synthetic: true,
            source: "test".into(),
        },
    }
}

#[test]
fn npy_round_trip_keeps_the_authors_time_major_layout() {
    let seqs = small_sequences();
    let path = temp("roundtrip.npy");
    std::fs::write(&path, npy_sequences_bytes(&seqs)).unwrap();
    // time-major on disk: the first frame of clip 1 follows the first frame of clip 0
    let raw = std::fs::read(&path).unwrap();
    let header_len = u16::from_le_bytes([raw[8], raw[9]]) as usize;
    let data = &raw[10 + header_len..];
    assert_eq!(&data[30..60], &seqs.clip(1)[..30]);
    let back = read_npy_sequences(&path).unwrap();
    assert_eq!(
        (back.count, back.len, back.height, back.width),
        (3, 4, 5, 6)
    );
    assert_eq!(back.pixels, seqs.pixels);
    assert!(!back.provenance.synthetic);
}

#[test]
fn truncated_npy_names_the_file_and_expected_size() {
    let path = temp("truncated.npy");
    std::fs::write(&path, npy_sequences_bytes(&small_sequences())).unwrap();
    let raw = std::fs::read(&path).unwrap();
    std::fs::write(&path, &raw[..raw.len() - 50]).unwrap();
    let msg = read_npy_sequences(&path).unwrap_err().to_string();
    assert!(
        msg.contains("truncated.npy") && msg.contains("360 bytes"),
        "{msg}"
    );
}

#[test]
fn npy_of_wrong_dtype_or_rank_is_rejected_with_what_was_found() {
    let path = temp("float.npy");
    let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"\x93NUMPY\x01\x00").unwrap();
    f.write_all(&(header.len() as u16).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    f.write_all(&[0u8; 24]).unwrap();
    drop(f);
    let msg = read_npy_sequences(&path).unwrap_err().to_string();
    assert!(
        msg.contains("float.npy") && msg.contains("uint8") && msg.contains("<f4"),
        "{msg}"
    );

    let path = temp("not-npy.npy");
    std::fs::write(&path, b"definitely not numpy").unwrap();
    let msg = read_npy_sequences(&path).unwrap_err().to_string();
    assert!(
        msg.contains("not-npy.npy") && msg.contains("not a .npy"),
        "{msg}"
    );
}

fn idx_bytes(count: usize, side: usize) -> Vec<u8> {
    let mut out = vec![0, 0, 8, 3];
    for v in [count, side, side] {
        out.extend_from_slice(&(v as u32).to_be_bytes());
    }
    out.extend((0..count * side * side).map(|i| (i % 251) as u8));
    out
}

#[test]
fn idx_images_read_plain_and_gzipped() {
    let plain = temp("train-images-idx3-ubyte");
    std::fs::write(&plain, idx_bytes(5, 28)).unwrap();
    let pool = read_idx_images(&plain).unwrap();
    assert_eq!((pool.images.len(), pool.size), (5, 28));
    assert_eq!(pool.images[1][0], (784 % 251) as u8);

    let gz_dir = temp("gz");
    std::fs::create_dir_all(&gz_dir).unwrap();
    let gz = gz_dir.join("train-images-idx3-ubyte.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&idx_bytes(5, 28)).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    assert_eq!(moving_mnist::find_mnist_images(&gz_dir).unwrap(), gz);
    assert_eq!(read_idx_images(&gz).unwrap().images, pool.images);
}

#[test]
fn idx_errors_name_magic_and_truncation() {
    let bad = temp("bad-magic-idx3-ubyte");
    let mut bytes = idx_bytes(2, 28);
    bytes[3] = 1;
    std::fs::write(&bad, &bytes).unwrap();
    let msg = read_idx_images(&bad).unwrap_err().to_string();
    assert!(
        msg.contains("bad-magic") && msg.contains("0x00000803") && msg.contains("0x00000801"),
        "{msg}"
    );

    let short = temp("short-idx3-ubyte");
    std::fs::write(&short, &idx_bytes(3, 28)[..1000]).unwrap();
    let msg = read_idx_images(&short).unwrap_err().to_string();
    assert!(
        msg.contains("short-idx3-ubyte") && msg.contains("truncated") && msg.contains("3 images"),
        "{msg}"
    );

    let missing = temp("no-such-folder");
    let msg = moving_mnist::find_mnist_images(&missing)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("no-such-folder") && msg.contains("not found"),
        "{msg}"
    );
}

/// One white 28x28 square digit: positions of clips can be read back from the frames.
fn square_pool() -> DigitPool {
    DigitPool {
        size: 28,
        images: vec![vec![200u8; 28 * 28]],
        source: "test square".into(),
        synthetic: true,
    }
}

#[test]
fn generator_follows_the_authors_motion_and_quirks() {
    let seqs = generate(&square_pool(), &options(20, 20, 7));
    assert_eq!(
        (seqs.count, seqs.len, seqs.height, seqs.width),
        (20, 20, 64, 64)
    );
    for clip in 0..seqs.count {
        for frame in seqs.clip(clip).chunks_exact(64 * 64) {
            // the 1-px shift: column 0 is always black
            assert!(frame.chunks_exact(64).all(|row| row[0] == 0));
            // two 200-valued squares add with saturation where they overlap
            assert!(frame.iter().all(|&p| p == 0 || p == 200 || p == 255));
            // each square (28 wide, moving in [-2, 38]) keeps at least 26 of its columns
            let lit = frame.iter().filter(|&&p| p > 0).count();
            assert!(lit >= 26 * 26, "{lit}");
        }
    }
    // the clean variant has no shift: some frame lights column 0
    let mut clean = options(20, 20, 7);
    clean.motion.one_pixel_shift = false;
    let clean = generate(&square_pool(), &clean);
    assert!(clean.pixels.chunks_exact(64).any(|row| row[0] > 0));
}

#[test]
fn generator_moves_digits_between_2_and_6_pixels_per_frame() {
    let mut one = options(30, 12, 3);
    one.motion.digits_per_clip = 1;
    one.motion.one_pixel_shift = false;
    let seqs = generate(&square_pool(), &one);
    for clip in 0..seqs.count {
        let centres: Vec<(f64, f64)> = seqs
            .clip(clip)
            .chunks_exact(64 * 64)
            .map(|f| {
                let lit: Vec<(usize, usize)> = (0..64 * 64)
                    .filter(|&i| f[i] > 0)
                    .map(|i| (i % 64, i / 64))
                    .collect();
                let n = lit.len() as f64;
                (
                    lit.iter().map(|p| p.0 as f64).sum::<f64>() / n,
                    lit.iter().map(|p| p.1 as f64).sum::<f64>() / n,
                )
            })
            .collect();
        // with no cropping the speed is exact up to truncation; allow 1 px either way
        for w in centres.windows(2) {
            let d = ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt();
            assert!(d <= 6.0 + 1.5, "moved {d} px");
        }
    }
}

#[test]
fn generation_is_seeded() {
    let pool = synthetic_digits(1, 50);
    let a = generate(&pool, &options(4, 10, 11));
    let b = generate(&pool, &options(4, 10, 11));
    let c = generate(&pool, &options(4, 10, 12));
    assert_eq!(a.pixels, b.pixels);
    assert_ne!(a.pixels, c.pixels);
}

#[test]
fn synthetic_data_is_labelled_synthetic_and_looks_like_digits() {
    let seqs = moving_mnist::load(&MovingMnistSource::Synthetic, &options(2, 4, 5)).unwrap();
    assert!(seqs.provenance.synthetic);
    assert!(seqs.provenance.label().starts_with("synthetic:"));
    let pool = synthetic_digits(5, 10);
    for img in &pool.images {
        let ink = img.iter().filter(|&&p| p > 128).count();
        // a digit covers a sizeable but minor part of its 28x28 box, like MNIST's 10-20%
        assert!((40..400).contains(&ink), "{ink}");
    }
    // "1" (two segments) has less ink than "8" (seven)
    let ink = |i: usize| pool.images[i].iter().map(|&p| p as u32).sum::<u32>();
    assert!(ink(1) < ink(8));
}

#[test]
fn split_is_seven_to_three_by_index_and_downsampling_averages() {
    let seqs = small_sequences();
    let ten = Sequences {
        count: 10,
        pixels: seqs.pixels.repeat(4)[..10 * 120].to_vec(),
        ..seqs.clone()
    };
    let (train, test) = ten.split(7, 10);
    assert_eq!((train.count, test.count), (7, 3));
    assert_eq!(test.clip(0), ten.clip(7));
    let block = Sequences {
        count: 1,
        len: 1,
        channels: 1,
        height: 2,
        width: 2,
        pixels: vec![0, 10, 20, 30],
        provenance: seqs.provenance.clone(),
    };
    assert_eq!(block.downsample(2).pixels, vec![15]);
}

mod radar {
    use super::temp;
    use vpbench_datasets::radar::{STRIDE, rain_to_pixel, read_radar_split, synthetic_radar};

    /// Writes `n` 5-minute frames from 2016-06-01 00:00 into `<root>/<split>`, frame i filled with i.
    fn write_frames(root: &std::path::Path, split: &str, n: usize, skip: Option<usize>) {
        let dir = root.join(split);
        std::fs::create_dir_all(&dir).unwrap();
        let mut minute = 0u64;
        for i in 0..n {
            if Some(i) == skip {
                minute += 5; // a missing file
            }
            let (hh, mm) = (minute / 60, minute % 60);
            let name = format!("20160601{hh:02}{mm:02}.png");
            image::GrayImage::from_pixel(8, 8, image::Luma([i as u8]))
                .save(dir.join(name))
                .unwrap();
            minute += 5;
        }
    }

    #[test]
    fn png_folders_give_non_overlapping_windows_of_every_sixth_frame() {
        let root = temp("radar-ok");
        let _ = std::fs::remove_dir_all(&root);
        // 2 windows of 3 frames (18 files each) + 5 left over
        write_frames(&root, "train", 2 * 3 * STRIDE + 5, None);
        let split = read_radar_split(&root, "train", 3, 4).unwrap();
        assert_eq!(
            (split.clips.count, split.clips.len, split.clips.height),
            (2, 3, 4)
        );
        assert!(split.warnings.is_empty());
        assert!(!split.clips.provenance.synthetic);
        // frame j of window k is file 18 k + 6 j, resized from 8x8 to 4x4 (constant values stay)
        let firsts: Vec<u8> = (0..2)
            .flat_map(|k| (0..3).map(move |j| (k, j)))
            .map(|(k, j)| split.clips.clip(k)[j * 16])
            .collect();
        assert_eq!(firsts, vec![0, 6, 12, 18, 24, 30]);
    }

    #[test]
    fn gaps_are_reported_with_a_count_and_bad_names_are_errors() {
        let root = temp("radar-gap");
        let _ = std::fs::remove_dir_all(&root);
        write_frames(&root, "test", 20, Some(7));
        let split = read_radar_split(&root, "test", 3, 8).unwrap();
        assert_eq!(split.warnings.len(), 1);
        assert!(split.warnings[0].contains("1 gaps"), "{:?}", split.warnings);

        std::fs::write(root.join("test/notatime.png"), b"x").unwrap();
        let msg = read_radar_split(&root, "test", 3, 8)
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("notatime.png") && msg.contains("YYYYMMDDHHMM"),
            "{msg}"
        );
        std::fs::remove_file(root.join("test/notatime.png")).unwrap();

        std::fs::write(root.join("test/201606010000.png"), b"not a png").unwrap();
        let msg = read_radar_split(&root, "test", 3, 8)
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("201606010000.png") && msg.contains("unreadable PNG"),
            "{msg}"
        );

        let msg = read_radar_split(&root, "missing", 3, 8)
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("missing") && msg.contains("folder"), "{msg}");
    }

    #[test]
    fn synthetic_rain_spans_the_skill_thresholds() {
        let seqs = synthetic_radar(20, 8, 32, 4);
        assert!(seqs.provenance.synthetic);
        let above = |mm_h: f64| {
            let th = (rain_to_pixel(mm_h) * 255.0) as u8;
            seqs.pixels.iter().filter(|&&p| p >= th).count() as f64 / seqs.pixels.len() as f64
        };
        let (light, moderate, heavy) = (above(0.5), above(2.0), above(5.0));
        assert!(light > 0.05 && light < 0.8, "{light}");
        assert!(moderate > 0.01 && moderate < light, "{moderate}");
        assert!(heavy > 0.001 && heavy < moderate, "{heavy}");
        assert_eq!(
            synthetic_radar(2, 3, 16, 9).pixels,
            synthetic_radar(2, 3, 16, 9).pixels
        );
    }
}

mod kth {
    use super::temp;
    use vpbench_datasets::kth::{read_kth_split, synthetic_kth};

    /// `<root>/<action>/<clip>/N.png` for N = 1..=frames, frame N filled with N.
    fn write_clip(root: &std::path::Path, clip: &str, frames: usize) {
        let action = clip.split('_').nth(1).unwrap();
        let dir = root.join(action).join(clip);
        std::fs::create_dir_all(&dir).unwrap();
        for n in 1..=frames {
            image::RgbImage::from_pixel(16, 12, image::Rgb([n as u8; 3]))
                .save(dir.join(format!("{n}.png")))
                .unwrap();
        }
    }

    #[test]
    fn windows_follow_the_clip_lists_with_the_authors_strides() {
        let root = temp("kth").join("kth_png");
        let _ = std::fs::remove_dir_all(root.parent().unwrap());
        write_clip(&root, "person01_running_d1", 30);
        write_clip(&root, "person02_walking_d2", 30);
        let lists = root.parent().unwrap().join("kth_txt");
        std::fs::create_dir_all(&lists).unwrap();
        // running 1..20 with stride 3: starts 1, 4, 7, 10 (window of 11 frames); walking 5..30, stride 10: 5, 15
        std::fs::write(
            lists.join("train_data_list_trimmed_only_run.txt"),
            "person01_running_d1 1 20\nperson02_walking_d2 5 30\n",
        )
        .unwrap();
        let clips = read_kth_split(&root, "train", 11, 8).unwrap();
        assert_eq!(
            (clips.count, clips.len, clips.height, clips.width),
            (6, 11, 8, 8)
        );
        let mut firsts: Vec<u8> = (0..clips.count).map(|k| clips.clip(k)[0]).collect();
        firsts.sort();
        assert_eq!(firsts, vec![1, 4, 5, 7, 10, 15]);
        assert!(
            clips
                .clip(0)
                .chunks(64)
                .zip(clips.clip(0).chunks(64).skip(1))
                .all(|(a, b)| b[0] == a[0] + 1)
        );

        std::fs::write(
            lists.join("test_data_list_trimmed_only_run.txt"),
            "person18_boxing_d1 1 20\n",
        )
        .unwrap();
        let msg = read_kth_split(&root, "test", 11, 8)
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("test_data_list_trimmed_only_run.txt")
                && msg.contains("line 1")
                && msg.contains("running, jogging, walking"),
            "{msg}"
        );

        std::fs::write(
            lists.join("test_data_list_trimmed_only_run.txt"),
            "person02_walking_d2 20 40\n",
        )
        .unwrap();
        let msg = read_kth_split(&root, "test", 11, 8)
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("31.png") && msg.contains("unreadable frame"),
            "{msg}"
        );
    }

    #[test]
    fn synthetic_silhouettes_move_and_are_labelled() {
        let seqs = synthetic_kth(4, 6, 32, 1);
        assert!(seqs.provenance.synthetic);
        let frames: Vec<&[u8]> = seqs.clip(0).chunks(32 * 32).collect();
        let dark = |f: &[u8]| f.iter().filter(|&&p| p == 30).count();
        assert!(
            frames.iter().all(|f| dark(f) > 10),
            "a figure in every frame"
        );
        assert_ne!(frames[0], frames[5], "the figure moves");
    }
}
