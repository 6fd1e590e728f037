using System.Buffers;

namespace Stepcast.Api.Webhooks;

/// <summary>
/// A webhook request body read into a pooled buffer. The signature has to be checked on the exact bytes received,
/// so the body is read by hand rather than bound, with the size limit enforced while reading (a chunked body has no
/// Content-Length to refuse up front).
/// </summary>
internal sealed class WebhookBody : IDisposable
{
    private byte[]? _buffer;
    private readonly int _length;

    private WebhookBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        _length = length;
    }

    public int Length => _length;

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);

    /// <summary>The body, or null when it is longer than <paramref name="maxBytes"/> (declared or actual).</summary>
    public static async Task<WebhookBody?> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        // One byte past the limit is enough to know the body is too large, without reading the rest of it.
        var window = maxBytes + 1;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength ?? 4096, maxBytes) + 1);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, window));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, window) - length), cancellationToken);
                if (read == 0)
                {
                    var body = new WebhookBody(buffer, length);
                    buffer = null;
                    return body;
                }

                length += read;
                if (length > maxBytes)
                {
                    return null;
                }
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
