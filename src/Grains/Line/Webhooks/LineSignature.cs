using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Stepcast.Grains.Line.Webhooks;

/// <summary>
/// Verifies the <c>x-line-signature</c> header of a webhook request: the base64 HMAC-SHA256 of the raw request body,
/// keyed with the channel secret. It must be checked on the exact bytes received, before any parsing, because
/// re-serialised JSON would not hash the same.
/// </summary>
public static class LineSignature
{
    private const int HashSize = HMACSHA256.HashSizeInBytes;

    /// <summary>
    /// True when <paramref name="signatureHeader"/> is the signature of <paramref name="body"/> under
    /// <paramref name="channelSecret"/>. A missing, empty or malformed header is simply invalid, never an exception,
    /// because it is attacker-controlled input.
    /// </summary>
    public static bool IsValid(ReadOnlySpan<byte> body, string channelSecret, string? signatureHeader)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelSecret);
        if (string.IsNullOrEmpty(signatureHeader))
        {
            return false;
        }

        Span<byte> provided = stackalloc byte[HashSize];
        if (!Convert.TryFromBase64String(signatureHeader, provided, out var written) || written != HashSize)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[HashSize];
        Hash(body, channelSecret, expected);

        // Constant time, so response timing does not reveal how many leading bytes of a forged signature were right.
        return CryptographicOperations.FixedTimeEquals(expected, provided);
    }

    /// <summary>The signature LINE would send for <paramref name="body"/>; for tests and load generators.</summary>
    public static string Compute(ReadOnlySpan<byte> body, string channelSecret)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelSecret);
        Span<byte> hash = stackalloc byte[HashSize];
        Hash(body, channelSecret, hash);
        return Convert.ToBase64String(hash);
    }

    private static void Hash(ReadOnlySpan<byte> body, string channelSecret, Span<byte> destination)
    {
        var maxKeyBytes = Encoding.UTF8.GetMaxByteCount(channelSecret.Length);
        byte[]? rented = null;
        Span<byte> key = maxKeyBytes <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(maxKeyBytes));
        try
        {
            var keyLength = Encoding.UTF8.GetBytes(channelSecret, key);
            HMACSHA256.HashData(key[..keyLength], body, destination);
        }
        finally
        {
            // The key is the channel secret: do not leave it lying in pooled or stack memory.
            CryptographicOperations.ZeroMemory(key);
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
