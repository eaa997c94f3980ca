//! `tower_server [ADDR]` (default 127.0.0.1:0): serves `Sum` with
//! tower-amp on tokio's default multi-thread runtime (as amp-rs's
//! `math_server`) and prints `listening on ADDR`. `tower_amp::serve` sets
//! `TCP_NODELAY` on every connection it accepts.

use tokio::net::TcpListener;
use tower_amp::Router;
use tower_amp_bench::Sum;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    tower_amp::serve(listener, Router::new().command::<Sum>()).await?;
    Ok(())
}
