//! The one-screen text and the JSON of `zkafka-cluster` (pure: a `Report`
//! in, text out). Problems first, each naming its partitions (long lists
//! capped with "... and N more"); then the controller, the brokers with
//! their per-broker counts, partition totals, reassignments, log dirs,
//! consumer groups and the notes on what could not be known.

use super::health::{human_bytes, Report};

/// Partitions listed per problem before "... and N more".
pub const MAX_LISTED: usize = 10;

/// UTC "YYYY-MM-DD HH:MM:SS" of a time in ms since the Unix epoch.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (proleptic Gregorian), Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A duration in ms as "3d4h", "2h5m", "5m3s", "42s".
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{sec}s")
    } else {
        format!("{sec}s")
    }
}

/// Left-aligned columns, two spaces apart, indented by two.
fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let s: Vec<String> = cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| if i == last { c } else { format!("{c:<width$}", width = w[i]) })
            .collect();
        format!("  {}", s.join("  ")).trim_end().to_string()
    };
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect())];
    out.extend(rows.iter().map(|r| line(r.clone())));
    out
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".to_string(), |x| x.to_string())
}

/// "a, b, c ... and 7 more".
pub fn capped(items: &[String], max: usize) -> String {
    let mut s = items.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > max {
        s.push_str(&format!(" ... and {} more", items.len() - max));
    }
    s
}

/// The screen.
pub fn text(r: &Report) -> String {
    let mut out: Vec<String> = Vec::new();
    out.push(format!(
        "Cluster {} via {} at {} UTC",
        r.cluster_id.as_deref().unwrap_or("(id unknown)"),
        r.source,
        utc(r.time_ms)
    ));
    if r.problems.is_empty() {
        out.push("PROBLEMS: none, the cluster is healthy".into());
    } else {
        out.push(format!("PROBLEMS ({})", r.problems.len()));
        for p in &r.problems {
            out.push(format!("  ! {}", p.summary));
            if !p.partitions.is_empty() {
                out.push(format!("      {}", capped(&p.partitions, MAX_LISTED)));
            }
        }
    }
    out.push(String::new());
    out.push(match (r.controller, r.controller_epoch) {
        (Some(c), Some(e)) => format!("CONTROLLER: broker {c}, controller epoch {e}"),
        (Some(c), None) => format!("CONTROLLER: broker {c}, controller epoch unknown"),
        (None, Some(e)) => format!("CONTROLLER: none (last controller epoch {e})"),
        (None, None) => "CONTROLLER: none".into(),
    });
    let up = r.brokers.iter().filter(|b| b.alive).count();
    let down = r.brokers.len() - up;
    out.push(format!("BROKERS: {up} registered{}", if down > 0 { format!(", {down} down") } else { String::new() }));
    let rows: Vec<Vec<String>> = r
        .brokers
        .iter()
        .map(|b| {
            let status = match (b.alive, b.controller) {
                (false, _) => "DOWN",
                (true, true) => "controller",
                (true, false) => "up",
            };
            let since = match b.registered_at_ms {
                Some(t) => format!("{} ({})", utc(t), age(r.time_ms - t)),
                None => "-".into(),
            };
            vec![
                b.id.to_string(),
                status.into(),
                opt(&b.endpoint),
                opt(&b.rack),
                opt(&b.epoch),
                since,
                b.replicas.to_string(),
                b.leaders.to_string(),
                b.under_replicated.to_string(),
                b.under_min_isr.to_string(),
                b.offline_replicas.to_string(),
                b.preferred_imbalanced.to_string(),
                b.log_dir_bytes.map_or("-".into(), human_bytes),
            ]
        })
        .collect();
    out.extend(table(
        &["ID", "STATUS", "ENDPOINT", "RACK", "EPOCH", "UP SINCE (UTC)", "REPLICAS", "LEADERS", "URP", "<MIN-ISR", "OFFLINE", "NOT-PREFERRED", "LOG-DIRS"],
        &rows,
    ));
    let t = &r.totals;
    out.push(format!(
        "PARTITIONS: {} in {} topic{} ({} replicas): {} under-replicated, {} under min ISR, {} offline, {} preferred-leader-imbalanced",
        t.partitions,
        t.topics,
        if t.topics == 1 { "" } else { "s" },
        t.replicas,
        t.under_replicated,
        t.under_min_isr,
        t.offline,
        t.preferred_imbalanced
    ));
    if r.reassignments.is_empty() && r.reassignments_requested.is_empty() {
        out.push("REASSIGNMENTS: none in progress".into());
    } else {
        out.push(format!("REASSIGNMENTS: {} in progress", r.reassignments.len()));
        let shown: Vec<Vec<String>> = r
            .reassignments
            .iter()
            .take(MAX_LISTED)
            .map(|x| vec![x.partition.clone(), join(&x.replicas), join(&x.adding), join(&x.removing), x.progress.clone()])
            .collect();
        if !shown.is_empty() {
            out.extend(table(&["PARTITION", "REPLICAS", "ADDING", "REMOVING", "PROGRESS"], &shown));
        }
        if r.reassignments.len() > MAX_LISTED {
            out.push(format!("  ... and {} more", r.reassignments.len() - MAX_LISTED));
        }
        if !r.reassignments_requested.is_empty() {
            out.push(format!(
                "  requested in /admin/reassign_partitions, not started yet: {}",
                capped(&r.reassignments_requested, MAX_LISTED)
            ));
        }
    }
    match &r.log_dirs {
        None => out.push("LOG DIRS: unknown (see notes)".into()),
        Some(dirs) => {
            out.push(format!("LOG DIRS: {}", dirs.len()));
            let rows: Vec<Vec<String>> = dirs
                .iter()
                .map(|d| {
                    vec![
                        d.broker.to_string(),
                        d.path.clone(),
                        human_bytes(d.size_bytes),
                        d.replicas.to_string(),
                        d.error.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                out.extend(table(&["BROKER", "DIR", "SIZE", "REPLICAS", "ERROR"], &rows));
            }
        }
    }
    match &r.groups {
        None => out.push("CONSUMER GROUPS: unknown (see notes)".into()),
        Some(gs) => {
            out.push(format!("CONSUMER GROUPS: {}", gs.len()));
            let rows: Vec<Vec<String>> = gs
                .iter()
                .take(MAX_LISTED * 2)
                .map(|g| {
                    let lag = match (g.total_lag, g.lag_unknown_partitions) {
                        (Some(l), 0) => l.to_string(),
                        (Some(l), n) => format!("{l} (+{n} partitions unknown)"),
                        (None, _) => "unknown".into(),
                    };
                    vec![g.group.clone(), g.state.clone(), g.coordinator.to_string(), g.members.to_string(), g.partitions.to_string(), lag]
                })
                .collect();
            if !rows.is_empty() {
                out.extend(table(&["GROUP", "STATE", "COORDINATOR", "MEMBERS", "PARTITIONS", "TOTAL-LAG"], &rows));
            }
            if gs.len() > MAX_LISTED * 2 {
                out.push(format!("  ... and {} more", gs.len() - MAX_LISTED * 2));
            }
        }
    }
    if !r.notes.is_empty() {
        out.push("NOTES:".into());
        out.extend(r.notes.iter().map(|n| format!("  - {n}")));
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

fn join(v: &[i32]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    }
}

/// The same report as JSON for scripts (every partition listed, no caps).
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":{}}}", serde_json::Value::String(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::super::health::*;
    use super::*;
    use crate::common::TopicPartition;

    #[test]
    fn times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(utc(1_796_169_599_000), "2026-12-01 23:59:59");
        assert_eq!(age(42_000), "42s");
        assert_eq!(age(303_000), "5m3s");
        assert_eq!(age(2 * 3_600_000 + 300_000), "2h5m");
        assert_eq!(age(3 * 86_400_000 + 4 * 3_600_000), "3d4h");
        assert_eq!(age(-5), "0s");
    }

    #[test]
    fn caps_long_lists() {
        let items: Vec<String> = (0..13).map(|i| format!("t-{i}")).collect();
        assert_eq!(capped(&items[..2], 10), "t-0, t-1");
        assert_eq!(capped(&items, 10), "t-0, t-1, t-2, t-3, t-4, t-5, t-6, t-7, t-8, t-9 ... and 3 more");
    }

    fn snapshot() -> Snapshot {
        let b = |id: i32| BrokerInfo { id, endpoint: format!("127.0.0.1:{}", 9092 + id), rack: None, epoch: Some(40 + id as i64), registered_at_ms: Some(1_796_169_200_000) };
        let p = |n: i32, leader: i32, isr: &[i32]| PartitionInfo {
            tp: TopicPartition::new("orders", n),
            replicas: vec![n % 3, (n + 1) % 3, (n + 2) % 3],
            leader: Some(leader),
            leader_epoch: Some(1),
            isr: isr.to_vec(),
            offline_replicas: vec![],
        };
        Snapshot {
            source: "--bootstrap-server 127.0.0.1:9092".into(),
            cluster_id: Some("abc".into()),
            time_ms: 1_796_169_599_000,
            brokers: vec![b(0), b(1)],
            controller: Some(0),
            controller_epoch: Some(2),
            partitions: (0..12).map(|n| if n % 3 == 2 { p(n, 0, &[0, 1]) } else { p(n, n % 3, &[0, 1]) }).collect(),
            log_dirs: Some(vec![LogDirInfo { broker: 0, path: "/d".into(), error: None, size_bytes: 2048, replicas: 12 }]),
            groups: Some(vec![GroupInfo { group: "g".into(), state: "Stable".into(), coordinator: 1, members: 2, partitions: 12, total_lag: Some(7), lag_unknown_partitions: 0 }]),
            notes: vec!["log dirs of broker 1: timed out".into()],
            ..Default::default()
        }
    }

    #[test]
    fn problems_first_with_partitions_capped() {
        let s = text(&compute(&snapshot()));
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "Cluster abc via --bootstrap-server 127.0.0.1:9092 at 2026-12-01 23:59:59 UTC");
        assert_eq!(lines[1], "PROBLEMS (3)");
        assert!(lines[2].starts_with("  ! broker 2 is down"), "{s}");
        assert!(lines[3].ends_with("... and 2 more"), "{s}");
        assert!(s.contains("  ! 12 under-replicated partitions"), "{s}");
        assert!(s.contains("CONTROLLER: broker 0, controller epoch 2"), "{s}");
        assert!(s.contains("BROKERS: 2 registered, 1 down"), "{s}");
        let row2 = lines.iter().find(|l| l.starts_with("  2 ")).unwrap();
        assert!(row2.contains("DOWN"), "{row2}");
        let row0 = lines.iter().find(|l| l.starts_with("  0 ")).unwrap();
        assert!(row0.contains("controller") && row0.contains("2026-12-01 23:53:20 (6m39s)") && row0.ends_with("2.0 KiB"), "{row0}");
        assert!(s.contains("PARTITIONS: 12 in 1 topic (36 replicas): 12 under-replicated, 0 under min ISR, 0 offline, 4 preferred-leader-imbalanced"), "{s}");
        assert!(s.contains("REASSIGNMENTS: none in progress"));
        assert!(s.contains("  g      Stable  1            2        12          7"), "{s}");
        assert!(s.contains("NOTES:\n  - log dirs of broker 1: timed out"), "{s}");
    }

    #[test]
    fn healthy_and_json() {
        let mut snap = snapshot();
        snap.brokers.push(BrokerInfo { id: 2, endpoint: "127.0.0.1:9094".into(), ..Default::default() });
        for p in &mut snap.partitions {
            p.isr = p.replicas.clone();
            p.leader = p.replicas.first().copied();
        }
        snap.log_dirs = None;
        let r = compute(&snap);
        let s = text(&r);
        assert!(s.contains("PROBLEMS: none, the cluster is healthy"), "{s}");
        assert!(s.contains("LOG DIRS: unknown (see notes)"), "{s}");
        let v: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(v["healthy"], true);
        assert_eq!(v["controller"], 0);
        assert_eq!(v["brokers"].as_array().unwrap().len(), 3);
        assert_eq!(v["totals"]["partitions"], 12);
        assert!(v["log_dirs"].is_null());
        assert_eq!(v["groups"][0]["total_lag"], 7);
    }
}
