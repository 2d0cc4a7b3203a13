//! [`Clock`]: the cheapest trustworthy way to read the time once per
//! operation.
//!
//! `Instant::now()` costs about 30 ns on a typical virtual machine, which on
//! its own would be most of the harness's cost per operation. Where the
//! kernel itself uses the CPU's time-stamp counter as its clock source (so it
//! is invariant and synchronized across cores), the clock reads the counter
//! directly (about 10 ns) and converts ticks to nanoseconds with a factor
//! calibrated once per process against `Instant` over 20 ms (error below
//! 0.01%). Elsewhere it falls back to `Instant`. Only per-operation latency
//! samples use it; elapsed times of whole phases use `Instant`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the calibration of the time-stamp counter runs.
const CALIBRATION: Duration = Duration::from_millis(20);

/// What the clock reads.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The time-stamp counter, `ns_per_tick` nanoseconds per tick.
    Tsc { ns_per_tick: f64 },
    /// Nanoseconds since `base`.
    Instant { base: Instant },
    /// Tests only: every reading advances a counter by `step` nanoseconds,
    /// so a loop's verdict against a deadline does not depend on timing.
    #[cfg(test)]
    Stepping {
        reads: &'static std::sync::atomic::AtomicU64,
        step: u64,
    },
}

/// A monotonic tick source with a conversion to nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    source: Source,
}

impl Clock {
    /// The process-wide clock (calibrated on first use).
    pub fn get() -> Clock {
        static CLOCK: OnceLock<Clock> = OnceLock::new();
        *CLOCK.get_or_init(|| Clock {
            source: tsc_source().unwrap_or(Source::Instant {
                base: Instant::now(),
            }),
        })
    }

    /// A clock on `Instant` (for tests and platforms without a usable TSC).
    pub fn instant() -> Clock {
        Clock {
            source: Source::Instant {
                base: Instant::now(),
            },
        }
    }

    /// Tests only: a clock whose readings are `step`, `2 * step`, ...
    /// nanoseconds, one step per [`Clock::now`] call, whatever the real
    /// time (each clock has its own counter).
    #[cfg(test)]
    pub fn stepping(step: u64) -> Clock {
        let reads = Box::leak(Box::new(std::sync::atomic::AtomicU64::new(0)));
        Clock {
            source: Source::Stepping { reads, step },
        }
    }

    /// True if the time-stamp counter is in use.
    pub fn uses_tsc(&self) -> bool {
        matches!(self.source, Source::Tsc { .. })
    }

    /// The current time in ticks.
    #[inline]
    pub fn now(&self) -> u64 {
        match self.source {
            Source::Tsc { .. } => read_tsc(),
            Source::Instant { base } => base.elapsed().as_nanos() as u64,
            #[cfg(test)]
            Source::Stepping { reads, step } => {
                reads.fetch_add(step, std::sync::atomic::Ordering::Relaxed) + step
            }
        }
    }

    /// Nanoseconds in `ticks`.
    #[inline]
    pub fn nanos(&self, ticks: u64) -> u64 {
        match self.source {
            Source::Tsc { ns_per_tick } => (ticks as f64 * ns_per_tick) as u64,
            Source::Instant { .. } => ticks,
            #[cfg(test)]
            Source::Stepping { .. } => ticks,
        }
    }

    /// Ticks in `duration` (the inverse of [`Clock::nanos`]), saturating.
    pub fn ticks(&self, duration: Duration) -> u64 {
        let ns = duration.as_nanos();
        match self.source {
            // `as` saturates a float at u64::MAX.
            Source::Tsc { ns_per_tick } => (ns as f64 / ns_per_tick) as u64,
            Source::Instant { .. } => u64::try_from(ns).unwrap_or(u64::MAX),
            #[cfg(test)]
            Source::Stepping { .. } => u64::try_from(ns).unwrap_or(u64::MAX),
        }
    }

    /// `deadline` as a tick value of this clock, so a hot loop can compare
    /// the reading it already takes per operation with it (one integer
    /// comparison) instead of calling `Instant::now()`. `u64::MAX` (never)
    /// for `None`; an instant already past gives the current reading.
    pub fn deadline_ticks(&self, deadline: Option<Instant>) -> u64 {
        match deadline {
            None => u64::MAX,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                self.now().saturating_add(self.ticks(left))
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn read_tsc() -> u64 {
    // SAFETY: RDTSC reads a register; it has no memory-safety preconditions
    // and exists on every x86-64 CPU.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn read_tsc() -> u64 {
    0
}

/// The TSC source, if the kernel trusts the TSC as its clock and the
/// calibration gives a sane rate.
fn tsc_source() -> Option<Source> {
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let clocksource =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .ok()?;
    if clocksource.trim() != "tsc" {
        return None;
    }
    let (start, start_ticks) = (Instant::now(), read_tsc());
    std::thread::sleep(CALIBRATION);
    let (end, end_ticks) = (Instant::now(), read_tsc());
    let ticks = end_ticks.checked_sub(start_ticks)?;
    let ns_per_tick = end.duration_since(start).as_nanos() as f64 / ticks as f64;
    // Between 10 MHz and 100 GHz: anything else is not a working counter.
    (0.01..=100.0)
        .contains(&ns_per_tick)
        .then_some(Source::Tsc { ns_per_tick })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_convert_to_elapsed_nanoseconds() {
        for clock in [Clock::get(), Clock::instant()] {
            let start = Instant::now();
            let t0 = clock.now();
            std::thread::sleep(Duration::from_millis(30));
            let t1 = clock.now();
            let real = start.elapsed().as_nanos() as f64;
            let measured = clock.nanos(t1 - t0) as f64;
            assert!(
                (measured - real).abs() < real * 0.05 + 200_000.0,
                "tsc {}: measured {measured} ns, real {real} ns",
                clock.uses_tsc()
            );
        }
    }

    #[test]
    fn a_deadline_in_ticks_is_reached_when_the_instant_is() {
        for clock in [Clock::get(), Clock::instant()] {
            assert_eq!(clock.deadline_ticks(None), u64::MAX);
            let at = Instant::now() + Duration::from_millis(30);
            let ticks = clock.deadline_ticks(Some(at));
            assert!(clock.now() < ticks, "tsc {}", clock.uses_tsc());
            std::thread::sleep(Duration::from_millis(20));
            assert!(clock.now() < ticks || Instant::now() >= at);
            while Instant::now() < at {
                std::thread::yield_now();
            }
            // The calibration error (below 0.01%, 5% on a very loaded
            // machine) is far below the 5 ms allowed here.
            std::thread::sleep(Duration::from_millis(5));
            assert!(clock.now() >= ticks, "tsc {}", clock.uses_tsc());
            let past = clock.deadline_ticks(Some(at));
            assert!(clock.now() >= past);
        }
    }
}
