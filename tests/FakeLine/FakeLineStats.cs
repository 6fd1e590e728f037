using System.Collections.Concurrent;

namespace Stepcast.FakeLine;

/// <summary>
/// How many requests each channel (token) made to each endpoint and how many were turned away with 429, so a test
/// can prove that a client stayed within a limit or did not retry — things the accepted deliveries alone cannot show.
/// </summary>
public sealed class FakeLineStats
{
    private readonly ConcurrentDictionary<(string Token, string Endpoint), Counters> _counters = new();

    /// <summary>Requests that reached the endpoint with a valid token (faults included).</summary>
    public long Requests(string token, string endpoint) => Get(token, endpoint).Requests;

    /// <summary>429 "Too Many Requests" answers.</summary>
    public long RateLimited(string token, string endpoint) => Get(token, endpoint).RateLimited;

    /// <summary>429 "You have reached your monthly limit." answers.</summary>
    public long QuotaExceeded(string token, string endpoint) => Get(token, endpoint).QuotaExceeded;

    public void Clear() => _counters.Clear();

    internal void CountRequest(string token, string endpoint) => Interlocked.Increment(ref For(token, endpoint).Requests);

    internal void CountRateLimited(string token, string endpoint) => Interlocked.Increment(ref For(token, endpoint).RateLimited);

    internal void CountQuotaExceeded(string token, string endpoint) => Interlocked.Increment(ref For(token, endpoint).QuotaExceeded);

    private Counters For(string token, string endpoint) => _counters.GetOrAdd((token, endpoint), static _ => new Counters());

    private Counters Get(string token, string endpoint) => _counters.TryGetValue((token, endpoint), out var counters) ? counters : new Counters();

    private sealed class Counters
    {
        public long Requests;
        public long RateLimited;
        public long QuotaExceeded;
    }
}
