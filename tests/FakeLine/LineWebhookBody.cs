using System.Buffers;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Stepcast.FakeLine;

/// <summary>Where a webhook event comes from (<c>source</c>).</summary>
public sealed record LineWebhookSource(string Type, string? UserId, string? GroupId = null, string? RoomId = null)
{
    public static LineWebhookSource User(string userId) => new("user", userId);

    public static LineWebhookSource Group(string groupId, string? userId = null) => new("group", userId, GroupId: groupId);

    public static LineWebhookSource Room(string roomId, string? userId = null) => new("room", userId, RoomId: roomId);
}

/// <summary>
/// One event of a <see cref="LineWebhookBody"/>: the fields every event has, plus a writer for the type's own
/// fields (<c>follow</c>, <c>message</c>, …) and anything else a test wants on the wire.
/// </summary>
public sealed record LineWebhookEvent(
    string Type,
    LineWebhookSource? Source,
    DateTimeOffset Timestamp,
    string WebhookEventId,
    bool IsRedelivery,
    string Mode,
    Action<Utf8JsonWriter>? WriteFields);

/// <summary>
/// Builds LINE webhook request bodies as LINE sends them (webhook.yml's CallbackRequest): realistic event ids,
/// epoch-millisecond timestamps and delivery contexts, and the <c>X-Line-Signature</c> for a channel secret. For
/// tests and load runs; it signs with its own HMAC code on purpose, so it checks Stepcast's verifier rather than
/// agreeing with it by construction.
/// </summary>
public sealed class LineWebhookBody
{
    private readonly List<LineWebhookEvent> _events = [];
    private readonly TimeProvider _clock;

    public LineWebhookBody(string destination = "U00000000000000000000000000000000", TimeProvider? clock = null)
    {
        Destination = destination;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>The bot user id that receives the events.</summary>
    public string Destination { get; }

    public IReadOnlyList<LineWebhookEvent> Events => _events;

    /// <summary>A new id in the format LINE uses (a ULID: 26 Crockford base32 characters).</summary>
    public static string NewWebhookEventId(DateTimeOffset at)
    {
        Span<byte> random = stackalloc byte[10];
        RandomNumberGenerator.Fill(random);
        var value = (UInt128)(ulong)at.ToUnixTimeMilliseconds() << 80;
        for (var i = 0; i < random.Length; i++)
        {
            value |= (UInt128)random[i] << (8 * (9 - i));
        }

        const string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        Span<char> id = stackalloc char[26];
        for (var i = 25; i >= 0; i--)
        {
            id[i] = alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return new string(id);
    }

    /// <summary>The friend added the account, or unblocked it (<paramref name="isUnblocked"/>).</summary>
    public LineWebhookBody Follow(string userId, bool isUnblocked = false, DateTimeOffset? at = null, string? webhookEventId = null) =>
        Event("follow", LineWebhookSource.User(userId), at, webhookEventId, w =>
        {
            w.WriteString("replyToken", NewReplyToken());
            w.WriteStartObject("follow");
            w.WriteBoolean("isUnblocked", isUnblocked);
            w.WriteEndObject();
        });

    /// <summary>The friend blocked the account.</summary>
    public LineWebhookBody Unfollow(string userId, DateTimeOffset? at = null, string? webhookEventId = null) =>
        Event("unfollow", LineWebhookSource.User(userId), at, webhookEventId, writeFields: null);

    public LineWebhookBody Text(string userId, string text, DateTimeOffset? at = null, string? webhookEventId = null) =>
        Text(LineWebhookSource.User(userId), text, at, webhookEventId);

    /// <summary>A text message, from a user or from someone in a group or room.</summary>
    public LineWebhookBody Text(LineWebhookSource source, string text, DateTimeOffset? at = null, string? webhookEventId = null) =>
        Event("message", source, at, webhookEventId, w =>
        {
            w.WriteString("replyToken", NewReplyToken());
            w.WriteStartObject("message");
            w.WriteString("id", NewMessageId());
            w.WriteString("type", "text");
            w.WriteString("quoteToken", NewReplyToken());
            w.WriteString("text", text);
            w.WriteEndObject();
        });

    /// <summary>A sticker: a message type other than text.</summary>
    public LineWebhookBody Sticker(string userId, string packageId = "446", string stickerId = "1988", DateTimeOffset? at = null, string? webhookEventId = null) =>
        Event("message", LineWebhookSource.User(userId), at, webhookEventId, w =>
        {
            w.WriteString("replyToken", NewReplyToken());
            w.WriteStartObject("message");
            w.WriteString("id", NewMessageId());
            w.WriteString("type", "sticker");
            w.WriteString("quoteToken", NewReplyToken());
            w.WriteString("packageId", packageId);
            w.WriteString("stickerId", stickerId);
            w.WriteString("stickerResourceType", "STATIC");
            w.WriteEndObject();
        });

    /// <summary>A postback action; <paramref name="parameters"/> are <c>postback.params</c> (e.g. a date picker's <c>date</c>).</summary>
    public LineWebhookBody Postback(string userId, string data, IReadOnlyDictionary<string, string>? parameters = null, DateTimeOffset? at = null, string? webhookEventId = null) =>
        Event("postback", LineWebhookSource.User(userId), at, webhookEventId, w =>
        {
            w.WriteString("replyToken", NewReplyToken());
            w.WriteStartObject("postback");
            w.WriteString("data", data);
            if (parameters is { Count: > 0 })
            {
                w.WriteStartObject("params");
                foreach (var (name, value) in parameters)
                {
                    w.WriteString(name, value);
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        });

    /// <summary>The friend linked (<c>ok</c>) or failed to link (<c>failed</c>) their account.</summary>
    public LineWebhookBody AccountLink(string userId, string nonce, string result = "ok", DateTimeOffset? at = null, string? webhookEventId = null) =>
        Event("accountLink", LineWebhookSource.User(userId), at, webhookEventId, w =>
        {
            w.WriteString("replyToken", NewReplyToken());
            w.WriteStartObject("link");
            w.WriteString("result", result);
            w.WriteString("nonce", nonce);
            w.WriteEndObject();
        });

    /// <summary>Any event, including types LINE has not invented yet; <paramref name="writeFields"/> writes its own fields.</summary>
    public LineWebhookBody Event(string type, LineWebhookSource? source, DateTimeOffset? at, string? webhookEventId, Action<Utf8JsonWriter>? writeFields, string mode = "active")
    {
        var timestamp = at ?? _clock.GetUtcNow();
        _events.Add(new LineWebhookEvent(type, source, timestamp, webhookEventId ?? NewWebhookEventId(timestamp), IsRedelivery: false, mode, writeFields));
        return this;
    }

    /// <summary>The same events as LINE redelivers them: same ids and timestamps, <c>deliveryContext.isRedelivery</c> true.</summary>
    public LineWebhookBody Redelivered()
    {
        var copy = new LineWebhookBody(Destination, _clock);
        copy._events.AddRange(_events.Select(e => e with { IsRedelivery = true }));
        return copy;
    }

    public byte[] ToUtf8Bytes()
    {
        var buffer = new ArrayBufferWriter<byte>(256 + 256 * _events.Count);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("destination", Destination);
            w.WriteStartArray("events");
            foreach (var e in _events)
            {
                w.WriteStartObject();
                w.WriteString("type", e.Type);
                w.WriteString("mode", e.Mode);
                w.WriteNumber("timestamp", e.Timestamp.ToUnixTimeMilliseconds());
                if (e.Source is { } source)
                {
                    w.WriteStartObject("source");
                    w.WriteString("type", source.Type);
                    WriteIfPresent(w, "groupId", source.GroupId);
                    WriteIfPresent(w, "roomId", source.RoomId);
                    WriteIfPresent(w, "userId", source.UserId);
                    w.WriteEndObject();
                }

                w.WriteString("webhookEventId", e.WebhookEventId);
                w.WriteStartObject("deliveryContext");
                w.WriteBoolean("isRedelivery", e.IsRedelivery);
                w.WriteEndObject();
                e.WriteFields?.Invoke(w);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public override string ToString() => Encoding.UTF8.GetString(ToUtf8Bytes());

    /// <summary>The <c>X-Line-Signature</c> LINE sends with <paramref name="body"/>: base64 HMAC-SHA256 keyed with the channel secret.</summary>
    public static string Sign(ReadOnlySpan<byte> body, string channelSecret) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(channelSecret), body));

    /// <summary>A signed POST of this body, as LINE would send it to <paramref name="requestUri"/>.</summary>
    public HttpRequestMessage ToSignedRequest(string requestUri, string channelSecret) =>
        CreateRequest(requestUri, ToUtf8Bytes(), channelSecret);

    /// <summary>A POST of <paramref name="body"/> signed with <paramref name="channelSecret"/> (or unsigned when null).</summary>
    public static HttpRequestMessage CreateRequest(string requestUri, byte[] body, string? channelSecret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, requestUri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        if (channelSecret is not null)
        {
            request.Headers.TryAddWithoutValidation("x-line-signature", Sign(body, channelSecret));
        }

        request.Headers.UserAgent.ParseAdd("LineBotWebhook/2.0");
        return request;
    }

    private static void WriteIfPresent(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static string NewReplyToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static string NewMessageId() => RandomNumberGenerator.GetInt32(100_000_000, int.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture) + "0000";
}
