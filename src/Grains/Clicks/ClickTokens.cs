using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Clicks;

/// <summary>Which link of which step was sent to which friend: everything a click needs, carried by the link itself.</summary>
public sealed record ClickTarget(string ChannelId, string LineUserId, string ScenarioId, int Version, string StepId, int LinkIndex);

/// <summary>
/// Click tokens: the <see cref="ClickTarget"/> in a compact binary form followed by a truncated HMAC-SHA256 of it, in
/// base64url. Signed rather than stored, so a send writes nothing for its links, and a token cannot be forged or
/// altered to count clicks elsewhere. The original URL is not in the token: it is read back from the published
/// scenario version, which never changes.
/// </summary>
public sealed class ClickTokens(IOptions<ClickOptions> options)
{
    private const byte FormatVersion = 1;
    private const int MacLength = 16;
    private const int MaxTokenLength = 1024;

    private readonly byte[]? _key = options.Value.Enabled ? Encoding.UTF8.GetBytes(options.Value.SigningKey!) : null;
    private readonly string? _baseUrl = options.Value.PublicBaseUrl?.TrimEnd('/');

    public bool Enabled => _key is not null;

    public string LinkFor(ClickTarget target) => $"{_baseUrl}/r/{Create(target)}";

    /// <summary>A send step's rendered messages with their links replaced when the step tracks clicks (and tracking is configured).</summary>
    public IReadOnlyList<LineMessage> Track(
        string channelId, string lineUserId, string scenarioId, int version, SendStep send, IReadOnlyList<LineMessage> messages) =>
        !send.TrackClicks || !Enabled
            ? messages
            : TrackedLinks.Replace(messages, index => LinkFor(new ClickTarget(channelId, lineUserId, scenarioId, version, send.Id, index)));

    public string Create(ClickTarget target)
    {
        var key = _key ?? throw new InvalidOperationException("Click tracking needs Stepcast:Clicks:PublicBaseUrl and SigningKey.");
        using var payload = new MemoryStream();
        payload.WriteByte(FormatVersion);
        WriteString(payload, target.ChannelId);
        WriteString(payload, target.LineUserId);
        WriteString(payload, target.ScenarioId);
        WriteInt(payload, target.Version);
        WriteString(payload, target.StepId);
        WriteInt(payload, target.LinkIndex);
        var body = payload.ToArray();
        var token = new byte[body.Length + MacLength];
        body.CopyTo(token, 0);
        HMACSHA256.HashData(key, body).AsSpan(0, MacLength).CopyTo(token.AsSpan(body.Length));
        return Base64Url.EncodeToString(token);
    }

    /// <summary>The target of a genuine token; null for anything malformed, forged or altered.</summary>
    public ClickTarget? Read(string token)
    {
        if (_key is null || string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return null;
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(token);
        }
        catch (FormatException)
        {
            return null;
        }

        if (bytes.Length <= MacLength + 1)
        {
            return null;
        }

        var body = bytes.AsSpan(0, bytes.Length - MacLength);
        var expected = HMACSHA256.HashData(_key, body).AsSpan(0, MacLength);
        if (!CryptographicOperations.FixedTimeEquals(expected, bytes.AsSpan(bytes.Length - MacLength)) || body[0] != FormatVersion)
        {
            return null;
        }

        var at = 1;
        try
        {
            var target = new ClickTarget(
                ReadString(body, ref at), ReadString(body, ref at), ReadString(body, ref at),
                ReadInt(body, ref at), ReadString(body, ref at), ReadInt(body, ref at));
            return at == body.Length ? target : null;
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static void WriteString(MemoryStream stream, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteInt(stream, bytes.Length);
        stream.Write(bytes);
    }

    private static void WriteInt(MemoryStream stream, int value)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buffer, value);
        stream.Write(buffer);
    }

    private static string ReadString(ReadOnlySpan<byte> body, ref int at)
    {
        var length = ReadInt(body, ref at);
        var value = Encoding.UTF8.GetString(body.Slice(at, length));
        at += length;
        return value;
    }

    private static int ReadInt(ReadOnlySpan<byte> body, ref int at)
    {
        var value = BinaryPrimitives.ReadInt32BigEndian(body.Slice(at, 4));
        at += 4;
        return value;
    }
}
