#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The scaling sweep runs every engine at every key count, with `--num`
//! set to that count, leaves `null` out, and draws one point per count and
//! engine in each panel of `scale.svg`.

use clap::Parser;
use kv_bench::cli::Cli;
use kv_bench::report::scale_report::{scale_panels, write_report};
use kv_bench::scale::{parse_counts, run_scale};

#[test]
fn each_key_count_runs_every_engine_with_that_many_keys() {
    let cli = Cli::try_parse_from([
        "kv-bench",
        "--engines",
        "bitcask,sled,null",
        "--in-process",
        "--scale",
        "300,150",
    ])
    .unwrap();
    let settings = cli.run.settings().unwrap();
    let counts = cli.run.scale.clone().unwrap();
    assert_eq!(counts, parse_counts("150,300").unwrap());
    let report = run_scale(&settings, &counts, None).unwrap();
    let nums: Vec<u64> = report.steps.iter().map(|s| s.num).collect();
    assert_eq!(nums, [150, 300]);
    for step in &report.steps {
        let engines: Vec<&str> = step.engines.iter().map(|e| e.engine.as_str()).collect();
        assert_eq!(engines, ["bitcask", "sled"], "null is left out");
        for engine in ["bitcask", "sled"] {
            for workload in ["fillrandom", "readrandom", "overwrite"] {
                let r = step
                    .results
                    .iter()
                    .find(|r| r.engine == engine && r.workload == workload)
                    .unwrap_or_else(|| panic!("{engine} {workload} at {}", step.num));
                assert_eq!(r.ops, step.num, "{engine} {workload}");
            }
        }
    }
    let panels = scale_panels(&report);
    assert_eq!(panels.len(), 6);
    for panel in &panels {
        assert_eq!(panel.xs, [150.0, 300.0]);
        assert_eq!(panel.points.len(), 2, "{}", panel.title);
        assert!(
            panel
                .points
                .iter()
                .all(|line| line.iter().all(Option::is_some)),
            "{}: a missing point",
            panel.title
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let md = write_report(&report, dir.path()).unwrap();
    assert!(std::fs::read_to_string(md).unwrap().contains("scale.svg"));
    assert!(dir.path().join("scale.svg").exists());
}
