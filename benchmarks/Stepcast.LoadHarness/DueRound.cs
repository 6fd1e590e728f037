using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Stepcast.FakeLine;

namespace Stepcast.LoadHarness;

/// <summary>
/// One round of "N friends due at the same moment": enroll them all with <c>At = due − wait</c> into a scenario
/// that waits <see cref="BenchScenarios.DispatchWait"/> and then sends, so every run's send is due at the same
/// instant; then watch the fake LINE server until every friend has received it. The lag of a recipient is the
/// fake's receive time minus the due time (both from this machine's clock).
/// </summary>
public sealed class DueRound(BenchTopology hosts, FakeLineServer line, DueRound.Enroller enroll)
{
    /// <summary>Enrolls friends <c>{prefix}{index:x24}</c> so that their send is due at <c>due</c>, counting outcomes.</summary>
    public delegate Task Enroller(
        string scenarioId, string prefix, int count, int concurrency, ConcurrentDictionary<string, long>? outcomes, DateTimeOffset due, CancellationToken cancellationToken);

    /// <summary>
    /// Stepcast: <c>IFriendGrain.Enroll</c> with <c>At = due − wait</c>, from an Orleans client; <paramref name="wait"/> is
    /// the scenario's wait (<see cref="BenchScenarios.DispatchWait"/> unless told otherwise).
    /// </summary>
    public static Enroller ThroughGrains(IClusterClient grains, TimeSpan? wait = null) =>
        (scenarioId, prefix, count, concurrency, outcomes, due, cancellationToken) =>
            EnrollBenchmark.EnrollAsync(grains, scenarioId, prefix, count, concurrency, outcomes, () => due - (wait ?? BenchScenarios.DispatchWait), cancellationToken);

    public sealed record Result(
        int Friends, double EnrollSeconds, double EnrollmentsPerSecond, IReadOnlyDictionary<string, long> EnrollOutcomes, double EnrolledBeforeDueSeconds,
        long PushRequests, long MulticastRequests, long Recipients, long DistinctRecipients, double FirstLagMs, double SpanSeconds,
        double RequestsPerSecond, double RecipientsPerSecond, double LagP50Ms, double LagP99Ms, double LagMaxMs,
        double HostCpuCores, double PostgresCpuCores, bool Complete,
        double HostAllocatedKbPerRecipient = 0, double HostGcPauseSeconds = 0, long HostGen2Collections = 0);

    /// <summary>Called every second while friends are enrolled and while they wait, with the seconds to the due time.</summary>
    public Action<double>? WhileWaiting { get; init; }

    /// <summary>Called once a few seconds before the due time, after the friends have waited.</summary>
    public Func<Task>? JustBeforeDue { get; init; }

    public async Task<Result> RunAsync(
        string scenarioId, string prefix, int count, int concurrency, TimeSpan lead, TimeSpan drain, CancellationToken cancellationToken)
    {
        var due = DateTimeOffset.FromUnixTimeSeconds((DateTimeOffset.UtcNow + lead).ToUnixTimeSeconds() + 1);
        Console.WriteLine($"  {count:N0} friends into {scenarioId}, all due at {due:HH:mm:ss} (in {(due - DateTimeOffset.UtcNow).TotalSeconds:0} s)");
        line.Deliveries.Clear();

        var outcomes = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        using var enrolled = new CancellationTokenSource();
        var progress = Task.Run(async () =>
        {
            while (!enrolled.IsCancellationRequested)
            {
                await Task.Delay(1000, enrolled.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                var done = outcomes.Values.Sum();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  enrolling {clock.Elapsed.TotalSeconds,6:0.0} s  {done,9:N0} of {count:N0}  {done / clock.Elapsed.TotalSeconds,7:N0}/s  host RSS {hosts.Silo.Memory().Rss / 1048576} MB  due in {(due - DateTimeOffset.UtcNow).TotalSeconds:0} s"));
                WhileWaiting?.Invoke((due - DateTimeOffset.UtcNow).TotalSeconds);
            }
        }, CancellationToken.None);
        await enroll(scenarioId, prefix, count, concurrency, outcomes, due, cancellationToken);
        var enrollSeconds = clock.Elapsed.TotalSeconds;
        var beforeDue = (due - DateTimeOffset.UtcNow).TotalSeconds;
        await enrolled.CancelAsync();
        await progress;
        if (beforeDue < 0)
        {
            Console.WriteLine($"  enrollment ended {-beforeDue:0.0} s AFTER the due time: raise --lead-seconds; friends enrolled late were sent at once");
        }

        var beforeDueDone = false;
        while (DateTimeOffset.UtcNow < due - TimeSpan.FromSeconds(1))
        {
            var left = (due - DateTimeOffset.UtcNow).TotalSeconds;
            if (left < 6 && !beforeDueDone && JustBeforeDue is not null)
            {
                beforeDueDone = true;
                await JustBeforeDue();
                continue;
            }

            WhileWaiting?.Invoke(left);
            if (left > 5 && (int)left % 5 == 0)
            {
                // The managed heap every 30 s: RSS alone cannot tell live data from memory the GC keeps committed.
                var heap = (int)left % 30 == 0 ? await hosts.ManagedHeapAfterLastGcAsync(cancellationToken) : null;
                Console.WriteLine($"  waiting, due in {left:0} s, host RSS {hosts.Silo.Memory().Rss / 1048576} MB{(heap is { } h ? $", managed heap after the last GC {h / 1048576} MB" : "")}");
            }

            await Task.Delay(1000, cancellationToken);
        }

        // The GC's counters are read while the host is still idle, just before the due time: read at the due time,
        // the scrape waited behind the burst, and the reading after a burst of under a second was then the host's
        // cached answer to that same scrape (OpenTelemetry keeps one for 300 ms), so nothing seemed allocated.
        var gcAtDue = await hosts.GcReadingAsync(cancellationToken);
        await Task.Delay(due - DateTimeOffset.UtcNow is { Ticks: > 0 } rest ? rest : TimeSpan.Zero, cancellationToken);
        var cpuClock = Stopwatch.StartNew();
        var hostCpu = hosts.CpuTime();
        var postgresCpu = hosts.Postgres?.CpuTime() ?? TimeSpan.Zero;
        var sent = Stopwatch.StartNew();
        long recipients = 0;
        var printed = TimeSpan.Zero;
        var hostUsed = 0.0;
        var postgresUsed = 0.0;
        var cpuSeconds = 0.0;
        while (sent.Elapsed < drain)
        {
            // Polled often so that the CPU reading ends close to the last send: a burst may take less than a second.
            await Task.Delay(100, cancellationToken);
            var snapshot = line.Deliveries.Snapshot();
            recipients = snapshot.Sum(d => (long)d.Recipients.Count);
            var reached = recipients < count ? -1 : snapshot.SelectMany(d => d.Recipients).Distinct(StringComparer.Ordinal).Count();
            cpuSeconds = cpuClock.Elapsed.TotalSeconds;
            hostUsed = (hosts.CpuTime() - hostCpu).TotalSeconds;
            postgresUsed = ((hosts.Postgres?.CpuTime() ?? TimeSpan.Zero) - postgresCpu).TotalSeconds;
            if (reached >= count || sent.Elapsed - printed >= TimeSpan.FromSeconds(1))
            {
                printed = sent.Elapsed;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  due + {sent.Elapsed.TotalSeconds,5:0.0} s  requests {snapshot.Count,8:N0}  recipients {recipients,9:N0}{(reached >= 0 ? $" ({reached:N0} distinct)" : "")} of {count:N0}  host RSS {hosts.Silo.Memory().Rss / 1048576} MB"));
            }

            if (reached >= count)
            {
                break;
            }
        }

        // Past the exporter's cache of a scrape made during the burst.
        await Task.Delay(TimeSpan.FromMilliseconds(400), cancellationToken);
        var gc = await hosts.GcReadingAsync(cancellationToken) is { } gcAfter && gcAtDue is not null ? gcAfter - gcAtDue : null;
        var deliveries = line.Deliveries.Snapshot();
        var lags = new LatencySample();
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        foreach (var delivery in deliveries)
        {
            var lag = (delivery.Timestamp - due).TotalMilliseconds;
            foreach (var recipient in delivery.Recipients)
            {
                lags.Add(lag);
                distinct.Add(recipient);
            }
        }

        lags = LatencySample.Merge([lags]);
        ReportRepeats(deliveries);
        var span = deliveries.Count == 0 ? 0 : (deliveries.Max(d => d.Timestamp) - due).TotalSeconds;
        recipients = deliveries.Sum(d => (long)d.Recipients.Count);
        return new Result(
            count, enrollSeconds, outcomes.GetValueOrDefault("Enrolled") / enrollSeconds, new SortedDictionary<string, long>(outcomes, StringComparer.Ordinal), beforeDue,
            deliveries.LongCount(d => d.Endpoint == "push"), deliveries.LongCount(d => d.Endpoint == "multicast"), recipients, distinct.Count,
            deliveries.Count == 0 ? 0 : (deliveries.Min(d => d.Timestamp) - due).TotalMilliseconds, span,
            span > 0 ? deliveries.Count / span : 0, span > 0 ? recipients / span : 0,
            lags.Percentile(50), lags.Percentile(99), lags.Max,
            cpuSeconds > 0 ? hostUsed / cpuSeconds : 0, cpuSeconds > 0 ? postgresUsed / cpuSeconds : 0, distinct.Count >= count,
            gc is null || recipients == 0 ? 0 : gc.AllocatedBytes / 1024.0 / recipients, gc?.PauseSeconds ?? 0, gc?.Gen2Collections ?? 0);
    }

    /// <summary>A few friends due at once before the measurement, so JIT, connections and the scenario catalogue are warm.</summary>
    public async Task WarmUpAsync(string scenarioId, string prefix, int count, CancellationToken cancellationToken)
    {
        line.Deliveries.Clear();
        await enroll(scenarioId, prefix, count, 32, null, DateTimeOffset.UtcNow, cancellationToken);
        var clock = Stopwatch.StartNew();
        while (line.Deliveries.Snapshot().Sum(d => d.Recipients.Count) < count && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200, cancellationToken);
        }

        // Let stragglers (a multicast confirm timeout) land before the round clears the store.
        await Task.Delay(1000, cancellationToken);
    }

    /// <summary>
    /// Every friend should receive the step once: names how many received it more than once, by the requests that
    /// carried it (push or multicast), with a few examples and their retry keys, so a repeat can be traced.
    /// </summary>
    private static void ReportRepeats(IReadOnlyList<FakeLineDelivery> deliveries)
    {
        var repeated = deliveries
            .SelectMany(d => d.Recipients.Select(r => (Recipient: r, Delivery: d)))
            .GroupBy(x => x.Recipient, StringComparer.Ordinal)
            .Where(g => g.Count() > 1)
            .ToList();
        if (repeated.Count == 0)
        {
            Console.WriteLine("  every recipient received the step once");
            return;
        }

        Console.WriteLine($"  {repeated.Count:N0} recipients received the step more than once:");
        foreach (var kind in repeated.GroupBy(g => string.Join(" + ", g.Select(x => x.Delivery.Endpoint).Order(StringComparer.Ordinal))))
        {
            Console.WriteLine($"    {kind.Key}: {kind.Count():N0}");
        }

        foreach (var example in repeated.Take(5))
        {
            Console.WriteLine($"    e.g. {example.Key}: " + string.Join("; ", example.Select(x =>
                $"{x.Delivery.Endpoint} #{x.Delivery.Sequence} key {x.Delivery.RetryKey} to {x.Delivery.Recipients.Count} at {x.Delivery.Timestamp:HH:mm:ss.fff}")));
        }
    }
}
