//! Replays the fuzz targets' seeds and every input a fuzzer ever crashed on
//! (`fuzz/regressions/<target>/`), through the same checks, on stable Rust. A crash
//! found by `cargo fuzz` is fixed by adding its input here.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["seeds", "regressions"] {
        for entry in std::fs::read_dir(root.join(dir).join(target)).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n != ".keep") {
                check(&std::fs::read(&path).unwrap());
                count += 1;
            }
        }
    }
    count
}

#[test]
fn envelope_seeds_and_regressions_pass() {
    assert!(replay("envelope", lightsail_jit::checks::envelope_bytes) >= 8);
}

#[test]
fn tag_seeds_and_regressions_pass() {
    assert!(replay("tags", lightsail_jit::checks::tag_bytes) >= 2);
}
