//! The argument classes a generated module defines when its schema uses
//! them, as Python text with `@NAME@` where their identifiers go.

/// The chunked bytes argument (`@BIG@`: its identifier).
pub(super) const BIG_STRING: &str = r#"

class @BIG@(amp.Argument):
    """Bytes of any size, cut into amp.MAX_VALUE_LENGTH (65,535) byte chunks
    under the keys NAME, NAME.2, NAME.3, ... and joined back on receipt."""

    def toBox(self, name, strings, objects, proto):
        whole = {}
        amp.Argument.toBox(self, name, whole, objects, proto)
        if name not in whole:
            return  # an optional value left out
        data = whole[name]
        size = amp.MAX_VALUE_LENGTH
        strings[name] = data[:size]
        for n, at in enumerate(range(size, len(data), size), 2):
            strings[b"%s.%d" % (name, n)] = data[at : at + size]

    def fromBox(self, name, strings, objects, proto):
        whole = {}
        if name in strings:
            chunks = [strings[name]]
            while b"%s.%d" % (name, len(chunks) + 1) in strings:
                chunks.append(strings[b"%s.%d" % (name, len(chunks) + 1)])
            whole[name] = b"".join(chunks)
        amp.Argument.fromBox(self, name, whole, objects, proto)

    def toString(self, inObject):
        if not isinstance(inObject, bytes):
            raise TypeError("a BigString value is bytes, not %r" % (inObject,))
        return inObject

    def fromString(self, inString):
        return inString
"#;

/// The chunked text argument (`@UNI@`: its identifier; `@BIG@`: its base).
pub(super) const BIG_UNICODE: &str = r#"

class @UNI@(@BIG@):
    """Text of any size: its UTF-8, chunked as a BigString."""

    def toString(self, inObject):
        if not isinstance(inObject, str):
            raise TypeError("a BigUnicode value is str, not %r" % (inObject,))
        return inObject.encode("utf-8")

    def fromString(self, inString):
        return inString.decode("utf-8")
"#;

/// The raw bytes argument (`@RAW@`) and its values (`@RAWBYTES@`).
pub(super) const RAW: &str = r#"

class @RAWBYTES@(bytes):
    """A Raw field's value as received: its bytes as they were on the wire."""


class @RAW@(amp.Argument):
    """A field of a class the schema does not know (Raw): its bytes are
    sent as they are, and received as @RAWBYTES@."""

    def toString(self, inObject):
        if not isinstance(inObject, bytes):
            raise TypeError("a Raw value is bytes, not %r" % (inObject,))
        return bytes(inObject)

    def fromString(self, inString):
        return @RAWBYTES@(inString)
"#;
