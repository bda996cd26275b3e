//! A seeded synthetic city whose crowd flows have TaxiBJ's daily and weekly rhythm.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{FLOW_CHANNELS, FlowYear, SLOTS_PER_DAY, Slot};
use crate::calendar::{civil_date, civil_minutes, is_weekend};

/// What a district is used for, which sets when people arrive and leave.
#[derive(Clone, Copy)]
enum District {
    /// Arrivals in the morning, departures in the evening.
    Business,
    /// Departures in the morning, arrivals in the evening.
    Residential,
    /// Afternoon and evening, busier at weekends.
    Leisure,
}

struct Hotspot {
    x: f64,
    y: f64,
    radius: f64,
    /// Vehicles per half hour at the centre at the daily peak.
    peak: f64,
    district: District,
}

fn bump(hour: f64, centre: f64, width: f64) -> f64 {
    (-(hour - centre).powi(2) / (2.0 * width * width)).exp()
}

/// Relative (inflow, outflow) of a district at `hour` (0-24), at the weekend or not.
fn rhythm(district: District, hour: f64, weekend: bool) -> (f64, f64) {
    let late = if weekend { 1.5 } else { 0.0 };
    let morning = bump(hour, 8.0 + late, 1.2);
    let evening = bump(hour, 18.0 + late * 0.3, 1.5);
    let night = 0.05;
    match district {
        District::Business => {
            let scale = if weekend { 0.4 } else { 1.0 };
            (
                night + scale * (morning + 0.3 * bump(hour, 13.5, 1.0)),
                night + scale * (evening + 0.3 * bump(hour, 12.0, 1.0)),
            )
        }
        District::Residential => (
            night + evening + 0.2 * bump(hour, 21.5, 1.5),
            night + morning,
        ),
        District::Leisure => {
            let scale = if weekend { 1.5 } else { 0.7 };
            (
                night + scale * bump(hour, 15.0, 2.5),
                night + scale * bump(hour, 19.5, 2.5),
            )
        }
    }
}

/// `days` complete days of half-hour flow maps of `size x size` from 2013-07-01, seeded.
pub fn synthetic_flows(days: usize, size: usize, seed: u64) -> FlowYear {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7a31_b100);
    let s = size as f64;
    let hotspots: Vec<Hotspot> = (0..rng.random_range(6..11))
        .map(|k| Hotspot {
            x: rng.random_range(0.1..0.9) * s,
            y: rng.random_range(0.1..0.9) * s,
            radius: rng.random_range(0.05..0.18) * s,
            peak: rng.random_range(150.0..900.0),
            district: [District::Business, District::Residential, District::Leisure][k % 3],
        })
        .collect();
    // Ring roads and arterials carry a share of all traffic.
    let roads: Vec<(bool, f64)> = (0..4)
        .map(|k| (k % 2 == 0, rng.random_range(0.15..0.85) * s))
        .collect();
    let first_day = civil_minutes(20130701, 0, 0).expect("a valid date") / 1440;
    let plane = size * size;
    let mut flows = Vec::with_capacity(days * SLOTS_PER_DAY * FLOW_CHANNELS * plane);
    let mut slots = Vec::with_capacity(days * SLOTS_PER_DAY);
    for d in 0..days {
        let day = first_day + d as i64;
        let weekend = is_weekend(day);
        let weather = rng.random_range(0.8..1.15);
        let date = civil_date(day);
        for slot in 1..=SLOTS_PER_DAY as u32 {
            let hour = (slot as f64 - 1.0) / 2.0 + 0.25;
            let rates: Vec<(f64, f64)> = hotspots
                .iter()
                .map(|h| rhythm(h.district, hour, weekend))
                .collect();
            let busy: f64 = rates.iter().map(|r| r.0 + r.1).sum::<f64>() / rates.len() as f64;
            let mut map = vec![0.0f64; FLOW_CHANNELS * plane];
            for y in 0..size {
                for x in 0..size {
                    let (mut inflow, mut outflow) = (0.0, 0.0);
                    for (h, r) in hotspots.iter().zip(&rates) {
                        let d2 = (x as f64 - h.x).powi(2) + (y as f64 - h.y).powi(2);
                        let w = h.peak * (-d2 / (2.0 * h.radius * h.radius)).exp();
                        inflow += w * r.0;
                        outflow += w * r.1;
                    }
                    let on_road = roads.iter().any(|&(horizontal, at)| {
                        ((if horizontal { y } else { x }) as f64 - at).abs() < 0.75
                    });
                    if on_road {
                        inflow += 120.0 * busy;
                        outflow += 120.0 * busy;
                    }
                    for (c, v) in [inflow, outflow].into_iter().enumerate() {
                        let noise = 1.0 + 0.08 * (rng.random::<f64>() - 0.5) * 2.0;
                        map[c * plane + y * size + x] = (v * weather * noise).max(0.0).round();
                    }
                }
            }
            flows.extend(map);
            let from_midnight = (slot as i64 - 1) * 30;
            slots.push(Slot {
                date,
                slot,
                minutes: day * 1440 + from_midnight,
            });
        }
    }
    FlowYear {
        source: format!("built-in city flow generator (daily and weekly rhythm), seed {seed}"),
        height: size,
        width: size,
        flows,
        slots,
    }
}
