using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Stepcast.Grains.Tenants;

/// <summary>
/// An API key as a client holds it: <c>sk_{keyId}_{secret}</c>. The key id finds the stored record; only the
/// SHA-256 of the whole key is stored, so a leaked database does not leak working keys. The secret has 256 bits
/// of entropy, which is why a fast hash (rather than a password hash) is enough.
/// </summary>
public static class ApiKeySecret
{
    public const string Prefix = "sk_";

    public static (string KeyId, string Key) Generate()
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (keyId, $"{Prefix}{keyId}_{secret}");
    }

    /// <summary>The key id of a well-formed key; false for anything else (no exception, nothing logged).</summary>
    public static bool TryParse(string? key, [NotNullWhen(true)] out string? keyId)
    {
        keyId = null;
        if (key is null || !key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length > 128)
        {
            return false;
        }

        var separator = key.IndexOf('_', Prefix.Length);
        if (separator <= Prefix.Length || separator == key.Length - 1)
        {
            return false;
        }

        keyId = key[Prefix.Length..separator];
        return true;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static bool Matches(byte[] storedHash, byte[] presentedHash) =>
        CryptographicOperations.FixedTimeEquals(storedHash, presentedHash);

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
