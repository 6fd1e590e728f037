using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Stepcast.Grains.Delivery;

namespace Stepcast.Grains.Diagnostics;

/// <summary>
/// The engine's own signals, on the meter <see cref="MeterName"/>: what SREs watch beside Orleans' and ASP.NET
/// Core's metrics. One instance per process (a singleton); the hosts export the meter for Prometheus.
/// </summary>
/// <remarks>
/// Tags are low-cardinality on purpose: outcomes are fixed words, and only the quota gauges carry the channel id
/// (a brand has a handful of channels, not millions). Friend ids never become tags.
/// </remarks>
public sealed class StepcastMetrics : IDisposable
{
    public const string MeterName = "Stepcast";

    private readonly Meter _meter;
    private readonly Counter<long> _webhookEvents;
    private readonly Counter<long> _sends;
    private readonly Histogram<double> _reminderLag;
    private readonly UpDownCounter<long> _activeFriends;
    private readonly Counter<long> _safetyNetWoken;
    private readonly Histogram<long> _storageBatchRows;
    private readonly Histogram<double> _storageBatchDuration;
    private readonly Histogram<double> _grainStorage;
    private readonly Histogram<double> _permitWait;
    private readonly Histogram<double> _quietCollections;
    private readonly List<Func<IEnumerable<PermitLine>>> _permitLines = [];
    private Func<(double Load, bool Short)>? _memory;
    private readonly ConcurrentDictionary<string, (long Used, long Limit)> _quota = new(StringComparer.Ordinal);

    public StepcastMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _webhookEvents = _meter.CreateCounter<long>(
            "stepcast.webhook.events", "{event}", "LINE webhook events received, by outcome: accepted, duplicate, ignored, refused, unavailable.");
        _sends = _meter.CreateCounter<long>(
            "stepcast.sends", "{send}", "Step sends attempted by friend grains, by outcome: delivered, already_delivered, rejected, retry_later, quota_exhausted.");
        _reminderLag = _meter.CreateHistogram<double>(
            "stepcast.reminder.lag", "s", "From a friend's earliest stored due time to the reminder tick that ran it.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] });
        _activeFriends = _meter.CreateUpDownCounter<long>(
            "stepcast.friends.active", "{activation}", "Friend grains activated in this process.");
        _safetyNetWoken = _meter.CreateCounter<long>(
            "stepcast.safety_net.woken", "{friend}", "Friends woken because their safety net in storage was overdue: each one a step a crashed silo did not finish.");
        _storageBatchRows = _meter.CreateHistogram<long>(
            "stepcast.storage.batch.rows", "{row}", "Rows per statement of the batched PostgreSQL stores, by kind (read, write for friend state; reminder-read, reminder-write): near 1 when idle, toward 256 when the database is the bottleneck.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _storageBatchDuration = _meter.CreateHistogram<double>(
            "stepcast.storage.batch.duration", "s", "Time of one statement of the batched PostgreSQL stores, by kind (read, write, reminder-read, reminder-write).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
        _grainStorage = _meter.CreateHistogram<double>(
            "stepcast.grain_storage.duration", "s", "Time a grain waited for one read, write or clear of its state, by state (friend, batch, quota, …), operation and outcome (ok, failed).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
        _permitWait = _meter.CreateHistogram<double>(
            "stepcast.rate_limit.wait", "s", "How long a send that found no permit at once waited in line for one, by API and outcome (granted, gave_up): the channel is sending at LINE's rate limit.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10] });
        _quietCollections = _meter.CreateHistogram<double>(
            "stepcast.silo.quiet_collection.pause", "s", "Pauses of the collections of the young generations a silo made while it was quiet, so that the next burst need not (Stepcast:QuietCollection).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2] });
        _meter.CreateObservableGauge("stepcast.rate_limit.waiting", ObservePermitLines, "{send}", "Sends waiting in this process for a rate-limit permit, by channel and API.");
        _meter.CreateObservableGauge("stepcast.quota.used", ObserveQuotaUsed, "{message}", "Messages counted against the channel's monthly quota, as last reported.");
        _meter.CreateObservableGauge("stepcast.quota.remaining", ObserveQuotaRemaining, "{message}", "Messages left in the channel's monthly quota, as last reported.");
        _meter.CreateObservableGauge("stepcast.silo.memory_load", () => _memory is { } memory ? [new Measurement<double>(memory().Load)] : Array.Empty<Measurement<double>>(),
            "1", "The process's memory load at the runtime's last collection, as a fraction of the memory available to it (the pod's limit, a heap hard limit).");
        _meter.CreateObservableGauge("stepcast.silo.short_of_memory", () => _memory is { } memory ? [new Measurement<int>(memory().Short ? 1 : 0)] : Array.Empty<Measurement<int>>(),
            "{state}", "1 while the silo is short of memory (Stepcast:Engine:ShortOfMemoryAtLoadPercent): friends then wait in wake slots and leave memory as soon as their turn ends.");
    }

    /// <summary>
    /// <paramref name="count"/> webhook events ended with <paramref name="outcome"/>: <c>accepted</c> (stored),
    /// <c>duplicate</c> (already applied), <c>ignored</c> (not for a friend), <c>refused</c> (4xx: signature, size,
    /// channel, body) or <c>unavailable</c> (503, LINE redelivers).
    /// </summary>
    public void WebhookEvents(string outcome, long count = 1)
    {
        if (count > 0)
        {
            _webhookEvents.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    public void Sent(DeliveryStatus status) =>
        _sends.Add(1, new KeyValuePair<string, object?>("outcome", OutcomeName(status)));

    public void ReminderLag(TimeSpan lag) => _reminderLag.Record(Math.Max(0, lag.TotalSeconds));

    public void FriendActivated() => _activeFriends.Add(1);

    public void FriendDeactivated() => _activeFriends.Add(-1);

    public void SafetyNetWoken(long count) => _safetyNetWoken.Add(count);

    /// <summary>One statement of a batched PostgreSQL store (friend state, reminders): how many rows it carried and how long it took.</summary>
    public void StorageBatch(string kind, int rows, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("kind", kind);
        _storageBatchRows.Record(rows, tag);
        _storageBatchDuration.Record(elapsed.TotalSeconds, tag);
    }

    /// <summary>
    /// One read, write or clear of a grain's state, as the grain waited for it (whatever the storage: in process,
    /// Orleans' ADO.NET provider or the batched stores); <paramref name="state"/> is the state's name, not the grain's id.
    /// </summary>
    public void GrainStorage(string state, string operation, bool succeeded, TimeSpan elapsed) =>
        _grainStorage.Record(elapsed.TotalSeconds,
            new KeyValuePair<string, object?>("state", state), new KeyValuePair<string, object?>("operation", operation),
            new KeyValuePair<string, object?>("outcome", succeeded ? "ok" : "failed"));

    /// <summary>A send that found no rate-limit permit at once got one after <paramref name="waited"/>, or gave up then.</summary>
    public void PermitWaited(string api, TimeSpan waited, bool granted) =>
        _permitWait.Record(Math.Max(0, waited.TotalSeconds),
            new KeyValuePair<string, object?>("api", api), new KeyValuePair<string, object?>("outcome", granted ? "granted" : "gave_up"));

    /// <summary>Where the gauge <c>stepcast.rate_limit.waiting</c> reads the lines of sends waiting for permits.</summary>
    public void ObservePermitLines(Func<IEnumerable<PermitLine>> lines)
    {
        lock (_permitLines)
        {
            _permitLines.Add(lines);
        }
    }

    /// <summary>Where the gauges <c>stepcast.silo.memory_load</c> and <c>…short_of_memory</c> read the process's memory.</summary>
    public void ObserveMemory(Func<(double Load, bool Short)> memory) => _memory = memory;

    /// <summary>A collection the silo made while quiet (<c>Stepcast:QuietCollection</c>), by its pause.</summary>
    public void QuietCollection(TimeSpan pause) => _quietCollections.Record(pause.TotalSeconds);

    /// <summary>The latest quota figures of a channel, for the gauges <c>stepcast.quota.used</c> and <c>…remaining</c>.</summary>
    public void ReportQuota(string channelId, long used, long limit) => _quota[channelId] = (used, limit);

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> ObservePermitLines()
    {
        Func<IEnumerable<PermitLine>>[] sources;
        lock (_permitLines)
        {
            sources = [.. _permitLines];
        }

        return sources.SelectMany(source => source()).Select(line => new Measurement<long>(line.Waiting,
            new KeyValuePair<string, object?>("channel", line.ChannelId), new KeyValuePair<string, object?>("api", line.Api)));
    }

    private IEnumerable<Measurement<long>> ObserveQuotaUsed() =>
        _quota.Select(q => new Measurement<long>(q.Value.Used, new KeyValuePair<string, object?>("channel", q.Key)));

    private IEnumerable<Measurement<long>> ObserveQuotaRemaining() =>
        _quota.Select(q => new Measurement<long>(Math.Max(0, q.Value.Limit - q.Value.Used), new KeyValuePair<string, object?>("channel", q.Key)));

    private static string OutcomeName(DeliveryStatus status) => status switch
    {
        DeliveryStatus.Delivered => "delivered",
        DeliveryStatus.AlreadyDelivered => "already_delivered",
        DeliveryStatus.Rejected => "rejected",
        DeliveryStatus.RetryLater => "retry_later",
        DeliveryStatus.QuotaExhausted => "quota_exhausted",
        DeliveryStatus.NotInBatch => "not_in_batch",
        DeliveryStatus.Throttled => "throttled",
        _ => "other",
    };
}

/// <summary>Sends of one channel waiting in a process for permits of one LINE API.</summary>
public readonly record struct PermitLine(string ChannelId, string Api, int Waiting);
