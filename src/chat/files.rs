//! Files sent into a conversation: the rules for their names and sizes, and their
//! type read from the content (never from the name, which anyone can choose).

use super::Invalid;

/// The largest file, in bytes (25 MiB).
pub const FILE_MAX_BYTES: usize = 25 * 1024 * 1024;
/// The longest file name, in characters.
pub const NAME_MAX_CHARS: usize = 255;

/// A file to store with a message; its data is borrowed from the 1C call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile<'a> {
    pub name: String,
    /// The MIME type read from the content.
    pub mime: &'static str,
    pub data: &'a [u8],
}

/// Checks a file before it is stored.
pub fn new_file<'a>(name: &str, data: &'a [u8]) -> Result<NewFile<'a>, Invalid> {
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        return Err(Invalid::BadFileName);
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(Invalid::BadFileName);
    }
    if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control() || super::is_invisible(c))
    {
        return Err(Invalid::BadFileName);
    }
    if data.len() > FILE_MAX_BYTES {
        return Err(Invalid::FileTooLarge);
    }
    Ok(NewFile {
        name: name.to_string(),
        mime: sniff(data),
        data,
    })
}

/// The MIME type of a file from its first bytes.
pub fn sniff(data: &[u8]) -> &'static str {
    let starts = |magic: &[u8]| data.starts_with(magic);
    let at = |offset: usize, magic: &[u8]| data.get(offset..).is_some_and(|d| d.starts_with(magic));
    match () {
        _ if starts(b"\x89PNG\r\n\x1a\n") => "image/png",
        _ if starts(b"\xff\xd8\xff") => "image/jpeg",
        _ if starts(b"GIF87a") || starts(b"GIF89a") => "image/gif",
        _ if starts(b"RIFF") && at(8, b"WEBP") => "image/webp",
        _ if starts(b"BM") && data.len() > 14 => "image/bmp",
        _ if starts(b"II*\0") || starts(b"MM\0*") => "image/tiff",
        _ if starts(b"%PDF-") => "application/pdf",
        _ if starts(b"PK\x03\x04") => zip_kind(data),
        _ if starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") => "application/x-ole-storage",
        _ if starts(b"Rar!\x1a\x07") => "application/vnd.rar",
        _ if starts(b"7z\xbc\xaf\x27\x1c") => "application/x-7z-compressed",
        _ if starts(b"\x1f\x8b") => "application/gzip",
        _ if starts(b"ID3") || starts(b"\xff\xfb") => "audio/mpeg",
        _ if at(4, b"ftyp") => "video/mp4",
        _ if looks_like_text(data) => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Office documents are zip files whose first entries name their part folders.
fn zip_kind(data: &[u8]) -> &'static str {
    let head = &data[..data.len().min(4096)];
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if has(b"word/") {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    } else if has(b"xl/") {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else if has(b"ppt/") {
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    } else {
        "application/zip"
    }
}

/// UTF-8 without control characters other than line breaks and tabs (first 4 KiB).
fn looks_like_text(data: &[u8]) -> bool {
    let head = &data[..data.len().min(4096)];
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // A multi-byte character cut at the 4 KiB boundary is still text.
        Err(e) if e.error_len().is_none() => match std::str::from_utf8(&head[..e.valid_up_to()]) {
            Ok(t) => t,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    !data.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// The image types the page may show inline (any other type is a card).
pub fn is_inline_image(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/bmp"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_content() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0JFIF"), "image/jpeg");
        assert_eq!(sniff(b"%PDF-1.7"), "application/pdf");
        assert_eq!(
            sniff(b"PK\x03\x04....word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(sniff(b"PK\x03\x04....other"), "application/zip");
        assert_eq!(sniff("Счет №42\nитого 100".as_bytes()), "text/plain");
        assert_eq!(sniff(b"MZ\x90\x00\x03"), "application/octet-stream");
        assert_eq!(sniff(b""), "application/octet-stream");
        // A name says nothing: the same bytes give the same type whatever it is called.
        assert_eq!(
            new_file("picture.png", b"MZ\x90\x00").unwrap().mime,
            "application/octet-stream"
        );
    }

    #[test]
    fn names_and_sizes() {
        assert!(new_file("Счет 42.pdf", b"x").is_ok());
        for bad in [
            "",
            " ",
            "..",
            "a/b.txt",
            "..\\x",
            "a\nb",
            "a\u{202E}txt.exe",
            &"n".repeat(256),
        ] {
            assert_eq!(new_file(bad, b"x"), Err(Invalid::BadFileName), "{bad:?}");
        }
        let big = vec![0u8; FILE_MAX_BYTES + 1];
        assert_eq!(new_file("big.bin", &big), Err(Invalid::FileTooLarge));
        assert!(new_file("just.bin", &big[..FILE_MAX_BYTES]).is_ok());
    }
}
