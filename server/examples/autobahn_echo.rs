//! A WebSocket echo server built on the game server's own socket settings
//! (`server::ws_config()`: read buffer, write buffer, masking rules), for the Autobahn
//! conformance cases. Only the message, frame and write-buffer limits are raised (to 16 MiB and
//! 32 MiB), because the cases send messages up to 16 MiB; the game itself caps them at 1 KiB.
//!
//! ```text
//! cargo run -p server --example autobahn_echo -- 127.0.0.1:9001
//! kosoku 127.0.0.1:9001 -x '12.*' -x '13.*'
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("echo listening on ws://{}", listener.local_addr()?);
    let config = server::ws_config()
        .max_message_size(Some(16 << 20))
        .max_frame_size(Some(16 << 20))
        .max_write_buffer_size(32 << 20);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let Ok(mut socket) =
                tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
            else {
                return;
            };
            // Reading on after a Close lets tungstenite flush its close reply; the stream then ends
            // and the TCP connection is dropped, server first, as RFC 6455 asks.
            while let Some(Ok(message)) = socket.next().await {
                if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err()
                {
                    break;
                }
            }
        });
    }
}
