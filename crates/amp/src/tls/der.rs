//! Just enough DER to find a certificate's version and public key, for
//! certificates (X.509 v1) that webpki does not parse.

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
/// `[0] EXPLICIT`, the tag of a certificate's version.
pub(crate) const VERSION_TAG: u8 = 0xa0;
/// The encoded version number of an X.509 v3 certificate.
pub(crate) const X509_V3: u8 = 2;

/// One DER element.
pub(crate) struct Element<'a> {
    pub(crate) tag: u8,
    /// Its contents.
    pub(crate) contents: &'a [u8],
    /// Its whole encoding: tag, length and contents.
    pub(crate) whole: &'a [u8],
    /// What follows it.
    pub(crate) rest: &'a [u8],
}

/// The element at the front of `input`.
pub(crate) fn split(input: &[u8]) -> Option<Element<'_>> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags: none in what we read
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some(Element {
        tag,
        contents: &rest[..len],
        whole: &input[..header + len],
        rest: &rest[len..],
    })
}

/// The element at the front of `input`, if it has this tag.
fn expect(input: &[u8], tag: u8) -> Option<Element<'_>> {
    split(input).filter(|e| e.tag == tag)
}

/// A certificate's encoded version (0 for v1, 2 for v3) and its
/// SubjectPublicKeyInfo (whole encoding).
pub(crate) fn certificate_spki(cert: &[u8]) -> Option<(u8, &[u8])> {
    let cert = expect(cert, SEQUENCE)?;
    if !cert.rest.is_empty() {
        return None;
    }
    let mut tbs = expect(cert.contents, SEQUENCE)?.contents;
    let mut version = 0;
    if let Some(explicit) = expect(tbs, VERSION_TAG) {
        version = match expect(explicit.contents, INTEGER)?.contents {
            [v] => *v,
            _ => return None,
        };
        tbs = explicit.rest;
    }
    // serialNumber, signature, issuer, validity, subject
    for tag in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
        tbs = expect(tbs, tag)?.rest;
    }
    Some((version, expect(tbs, SEQUENCE)?.whole))
}

/// A SubjectPublicKeyInfo's algorithm (contents of the
/// AlgorithmIdentifier) and key (contents of the bit string).
pub(crate) fn spki_parts(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let algorithm = expect(expect(spki, SEQUENCE)?.contents, SEQUENCE)?;
    let bits = expect(algorithm.rest, BIT_STRING)?.contents;
    match bits.split_first()? {
        (0, key) => Some((algorithm.contents, key)),
        _ => None,
    }
}
