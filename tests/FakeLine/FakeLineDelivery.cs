using System.Collections.Concurrent;

namespace Stepcast.FakeLine;

/// <summary>One send the fake LINE server accepted.</summary>
/// <param name="Sequence">Order of acceptance, from 1.</param>
/// <param name="Endpoint"><c>push</c>, <c>multicast</c>, <c>reply</c>, <c>broadcast</c> or <c>narrowcast</c>.</param>
/// <param name="ChannelAccessToken">The bearer token, i.e. which channel sent it (fake tokens only).</param>
/// <param name="Recipients">User/group/room IDs for push and multicast; empty for the others.</param>
/// <param name="MessagesJson">The <c>messages</c> array exactly as received.</param>
/// <param name="RetryKey"><c>X-Line-Retry-Key</c>, when sent.</param>
/// <param name="RequestId">The <c>x-line-request-id</c> the fake answered with.</param>
/// <param name="ReplyToken">The reply token of a reply.</param>
/// <param name="Timestamp">When it was accepted.</param>
public sealed record FakeLineDelivery(
    long Sequence,
    string Endpoint,
    string ChannelAccessToken,
    IReadOnlyList<string> Recipients,
    string MessagesJson,
    string? RetryKey,
    string RequestId,
    string? ReplyToken,
    DateTimeOffset Timestamp);

/// <summary>
/// Every accepted send, in acceptance order. A lock-free queue so recording costs one CAS on the request path even
/// when a load run pushes tens of thousands of requests per second.
/// </summary>
public sealed class FakeLineDeliveryStore
{
    private readonly ConcurrentQueue<FakeLineDelivery> _deliveries = new();
    private long _sequence;

    /// <summary>Number of deliveries recorded since the last <see cref="Clear"/>.</summary>
    public int Count => _deliveries.Count;

    /// <summary>A copy of the deliveries recorded so far.</summary>
    public IReadOnlyList<FakeLineDelivery> Snapshot() => _deliveries.ToArray();

    /// <summary>Forgets every delivery (retry keys and quota usage are kept; see <see cref="FakeLineServer.Reset"/>).</summary>
    public void Clear() => _deliveries.Clear();

    internal FakeLineDelivery Add(
        string endpoint, string token, IReadOnlyList<string> recipients, string messagesJson, string? retryKey,
        string requestId, string? replyToken, DateTimeOffset timestamp)
    {
        var delivery = new FakeLineDelivery(
            Interlocked.Increment(ref _sequence), endpoint, token, recipients, messagesJson, retryKey, requestId, replyToken, timestamp);
        _deliveries.Enqueue(delivery);
        return delivery;
    }
}
