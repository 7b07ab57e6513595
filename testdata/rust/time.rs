// time.rs: std::time. The wall clock is past 2024, Instant never goes
// backwards, a 30 ms sleep takes at least 30 ms, and a short busy loop is
// measured. Prints only what holds on every run; isle must print
// testdata/rust/time.out and exit 0.
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock before 1970");
    println!("wall clock after 2024: {}", now.as_secs() > 1_704_067_200);
    let t0 = Instant::now();
    let mut last = t0;
    for _ in 0..1000 {
        let t = Instant::now();
        assert!(t >= last, "Instant went backwards");
        last = t;
    }
    println!("instant monotonic: true");
    let s = Instant::now();
    std::thread::sleep(Duration::from_millis(30));
    let slept = s.elapsed();
    println!("slept at least 30ms: {}", slept >= Duration::from_millis(30));
    println!("slept under 5s: {}", slept < Duration::from_secs(5));
    let w0 = SystemTime::now();
    std::thread::sleep(Duration::from_millis(10));
    println!("wall clock advanced: {}", SystemTime::now() > w0);
}
