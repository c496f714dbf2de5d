//! tokio's `AsyncRead`/`AsyncWrite` over a [`TcpStream`] (feature `tokio`).
//!
//! A poll tries the non-blocking operation under the stack's lock; when it would block,
//! the task's waker is stored for that socket and the driver thread wakes it on the
//! socket's next readiness event. The check and the store happen under the same lock the
//! driver takes to dispatch events, so no wake-up is lost. Works on any tokio runtime
//! (no reactor needed: the driver thread is the reactor).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::TcpStream;
use crate::socket::SocketError;

/// An async TCP stream; make one with [`TcpStream::into_async`].
#[derive(Debug)]
pub struct AsyncTcpStream {
    inner: TcpStream,
}

impl AsyncTcpStream {
    pub(crate) fn new(inner: TcpStream) -> Self {
        AsyncTcpStream { inner }
    }

    /// The blocking stream back.
    pub fn into_inner(self) -> TcpStream {
        self.inner
    }

    fn poll_op<T>(
        &self,
        cx: &mut Context<'_>,
        write: bool,
        op: impl FnOnce(
            &mut crate::socket::Stack,
            crate::socket::SocketHandle,
        ) -> Result<T, SocketError>,
    ) -> Poll<io::Result<T>> {
        let (shared, h) = self.inner.parts();
        let now = shared.now();
        let mut g = shared.lock();
        let r = op(&mut g.stack, h);
        g.flush(now);
        shared.wake_kick();
        match r {
            Err(SocketError::WouldBlock) => {
                let slot = g.wakers.entry(h.index()).or_default();
                let w = if write { &mut slot.1 } else { &mut slot.0 };
                *w = Some(cx.waker().clone());
                Poll::Pending
            }
            r => Poll::Ready(r.map_err(io::Error::from)),
        }
    }
}

impl AsyncRead for AsyncTcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let dst = buf.initialize_unfilled();
        let r = self.poll_op(cx, false, |s, h| s.tcp_recv(h, dst));
        match r {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for AsyncTcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_op(cx, true, |s, h| s.tcp_send(h, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.inner.shutdown(std::net::Shutdown::Write))
    }
}
