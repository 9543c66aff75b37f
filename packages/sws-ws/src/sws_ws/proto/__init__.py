"""sws_ws.proto: WebSocket for servers, sans-IO (RFC 6455, permessage-deflate RFC 7692).

Bytes in, events and bytes out; no sockets, threads or clocks. First the handshake, on the
upgrade request the HTTP layer parsed:

    try:
        hs = server_handshake(req.method, req.http_version, req.headers.items(),
                              subprotocols=["chat"])
    except HandshakeError as exc:
        ...                                     # answer exc.status with exc.headers
    ...                                         # answer 101 with hs.response_headers

then one `ServerConnection` per connection:

    conn = ServerConnection(deflate=hs.deflate)     # limits as keyword arguments
    for event in conn.receive_data(data):           # any split of the input
        match event:
            case TextMessage(data=text):   write(conn.send_text(text))
            case BinaryMessage(data=blob): write(conn.send_binary(blob))
            case Ping() | Pong():          ...      # pings are answered already
            case CloseReceived():          ...      # the reply is queued
            case ProtocolFailed():         ...      # the failure close is queued
    write(conn.data_to_send())                      # pongs, close frames; b"" when none
    if conn.state is ConnectionState.CLOSED:
        ...                                         # close TCP once written

Write what `send_*` and `data_to_send()` return in the order you got them. Rules applied:

- Client frames are masked; RSV1 only on the first frame of a compressed message, RSV2 and
  RSV3 never; opcodes 3-7 and 11-15 are reserved; control frames are final and at most 125
  bytes; lengths use their shortest form (RFC 6455 §5). Each breach fails with 1002.
- Fragments continue a message in progress; control frames may come between them (§5.4).
- Text is valid UTF-8, checked as it arrives, fragment by fragment: 1007 as soon as it
  cannot become valid (§8.1). Compressed data that does not inflate: 1007.
- Frame, message (inflated) and fragment-count limits: 1009, decided on the frame header.
- A close frame's code is one that may be sent, and its reason valid UTF-8 (§5.5.1, §7.4).

A broken rule never raises from `receive_data`: it is a `ProtocolFailed` event, with the
close frame to send already in `data_to_send()`.
"""

from sws_ws.proto._connection import ServerConnection
from sws_ws.proto._deflate import (
    DEFAULT_DEFLATE_LEVEL,
    DEFAULT_DEFLATE_MEM_LEVEL,
    DeflateParams,
    Deflater,
    Inflater,
)
from sws_ws.proto._errors import ConnectionClosedError, HandshakeError, ProtocolError
from sws_ws.proto._events import (
    BinaryMessage,
    CloseReceived,
    ConnectionState,
    Event,
    Ping,
    Pong,
    ProtocolFailed,
    TextMessage,
)
from sws_ws.proto._frames import (
    CloseCode,
    Opcode,
    apply_mask,
    close_payload,
    encode_frame,
    is_valid_close_code,
)
from sws_ws.proto._handshake import (
    GUID,
    Handshake,
    accept_key,
    parse_extensions,
    server_handshake,
)
from sws_ws.proto._reader import (
    DEFAULT_MAX_FRAGMENTS,
    DEFAULT_MAX_FRAME_BYTES,
    DEFAULT_MAX_MESSAGE_BYTES,
)

__all__ = [
    "DEFAULT_DEFLATE_LEVEL",
    "DEFAULT_DEFLATE_MEM_LEVEL",
    "DEFAULT_MAX_FRAGMENTS",
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "GUID",
    "BinaryMessage",
    "CloseCode",
    "CloseReceived",
    "ConnectionClosedError",
    "ConnectionState",
    "DeflateParams",
    "Deflater",
    "Event",
    "Handshake",
    "HandshakeError",
    "Inflater",
    "Opcode",
    "Ping",
    "Pong",
    "ProtocolError",
    "ProtocolFailed",
    "ServerConnection",
    "TextMessage",
    "accept_key",
    "apply_mask",
    "close_payload",
    "encode_frame",
    "is_valid_close_code",
    "parse_extensions",
    "server_handshake",
]
