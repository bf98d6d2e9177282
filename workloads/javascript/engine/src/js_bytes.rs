//! Bytes between Rust and JavaScript: what the engine's natives and the
//! `dapr` object accept as bytes, and how they hand bytes back.

#[cfg(feature = "dapr")]
use rquickjs::TypedArray;
use rquickjs::{Ctx, Value};

/// The bytes of a `Uint8Array` or `ArrayBuffer`; `None` for anything else.
pub(crate) fn bytes_of(value: &Value<'_>) -> Option<Vec<u8>> {
    let object = value.as_object()?;
    if let Some(array) = object.as_typed_array::<u8>() {
        // SAFETY: the slice is copied before any JS runs that could detach or
        // resize the buffer.
        return unsafe { array.as_bytes() }.map(<[u8]>::to_vec);
    }
    if let Some(buffer) = object.as_array_buffer() {
        // SAFETY: as above.
        return unsafe { buffer.as_bytes() }.map(<[u8]>::to_vec);
    }
    None
}

/// A bytes argument: a string (as UTF-8), a `Uint8Array` or an `ArrayBuffer`.
pub(crate) fn bytes_arg<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> rquickjs::Result<Vec<u8>> {
    if let Some(text) = value.as_string() {
        return Ok(text.to_string()?.into_bytes());
    }
    bytes_of(value).ok_or_else(|| {
        rquickjs::Exception::throw_type(
            ctx,
            &format!(
                "expected a string, Uint8Array or ArrayBuffer, not {}",
                value.type_name()
            ),
        )
    })
}

/// A fresh `ArrayBuffer`-backed `Uint8Array` holding `bytes`.
#[cfg(feature = "dapr")]
pub(crate) fn uint8_array<'js>(ctx: &Ctx<'js>, bytes: Vec<u8>) -> rquickjs::Result<Value<'js>> {
    Ok(TypedArray::<u8>::new(ctx.clone(), bytes)?.into_value())
}
