using System.Collections.Concurrent;

namespace Stepcast.FakeLine;

/// <summary>
/// Per-channel quota and per-channel-and-endpoint rate limits. Each channel or window has its own small lock, so
/// channels never contend with each other.
/// </summary>
internal sealed class FakeLineChannels(FakeLineOptions options)
{
    private readonly ConcurrentDictionary<string, QuotaState> _quotas = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Token, string Endpoint), RateWindow> _windows = new();

    public void SetMonthlyQuota(string token, long? limit)
    {
        var state = _quotas.GetOrAdd(token, static _ => new QuotaState());
        lock (state.Gate)
        {
            state.HasOwnLimit = true;
            state.Limit = limit;
        }
    }

    public (long? Limit, long Used) GetQuota(string token)
    {
        var state = _quotas.GetOrAdd(token, static _ => new QuotaState());
        lock (state.Gate)
        {
            RollMonth(state);
            return (state.HasOwnLimit ? state.Limit : options.MonthlyQuota, state.Used);
        }
    }

    /// <summary>Counts <paramref name="count"/> messages against the channel's month; false (and counts nothing) past the limit.</summary>
    public bool TryConsumeQuota(string token, long count)
    {
        var state = _quotas.GetOrAdd(token, static _ => new QuotaState());
        lock (state.Gate)
        {
            RollMonth(state);
            var limit = state.HasOwnLimit ? state.Limit : options.MonthlyQuota;
            if (limit is { } max && state.Used + count > max)
            {
                return false;
            }

            state.Used += count;
            return true;
        }
    }

    /// <summary>Fixed one-second windows per channel and endpoint, like LINE's per-endpoint limits.</summary>
    public bool TryAcquireRate(string token, string endpoint)
    {
        if (options.RateLimitPerSecond is not { } perSecond)
        {
            return true;
        }

        var window = _windows.GetOrAdd((token, endpoint), static _ => new RateWindow());
        var second = options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        lock (window.Gate)
        {
            if (window.Second != second)
            {
                window.Second = second;
                window.Count = 0;
            }

            return ++window.Count <= perSecond;
        }
    }

    public void Reset()
    {
        _quotas.Clear();
        _windows.Clear();
    }

    private void RollMonth(QuotaState state)
    {
        // LINE's month runs on Japan time.
        var now = options.TimeProvider.GetUtcNow().ToOffset(TimeSpan.FromHours(9));
        var month = (now.Year * 12) + now.Month;
        if (state.Month != month)
        {
            state.Month = month;
            state.Used = 0;
        }
    }

    private sealed class QuotaState
    {
        public readonly Lock Gate = new();
        public bool HasOwnLimit;
        public long? Limit;
        public long Used;
        public int Month;
    }

    private sealed class RateWindow
    {
        public readonly Lock Gate = new();
        public long Second;
        public int Count;
    }
}
