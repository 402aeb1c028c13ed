using System;
using System.IO;

namespace Kiln;

/// <summary>
/// A read-only memory stream whose position never passes its end. StbImageSharp 2.30.16 skips
/// a segment with <c>Seek(skip, Current)</c>, which a <see cref="MemoryStream"/> allows past the
/// end, and tests for the end with <c>Position == Length</c> (<c>stbi__at_eof</c>); once past the
/// end, reads return 0, the JPEG marker search sees 0xFF forever and never sees the end: the
/// 11-byte file <c>FF D8 FF E0 00 10 'JFIF' 00</c> loops at 100% CPU. Clamping the seek makes
/// the end visible again, as C stb's <c>stbi__skip</c> does.
/// </summary>
internal sealed class ClampedMemoryStream(byte[] buffer, int length) : MemoryStream(buffer, 0, length, writable: false)
{
    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => Length + offset,
        };
        return base.Seek(Math.Clamp(target, 0, Length), SeekOrigin.Begin);
    }

    public override long Position
    {
        get => base.Position;
        set => base.Position = Math.Clamp(value, 0, Length);
    }
}
