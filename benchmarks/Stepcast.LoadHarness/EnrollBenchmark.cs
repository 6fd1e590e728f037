using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Stepcast.FakeLine;
using Stepcast.Grains.Friends;
using Stepcast.Silo.Postgres;

namespace Stepcast.LoadHarness;

/// <summary>
/// <c>enroll</c> mode: N friends enrolled into a published scenario whose first step is a 30-day wait (no sends),
/// as <c>IFriendGrain.Enroll</c> calls from an Orleans client in this process with K in flight — as the API does for
/// a campaign. The grains live in a separate host process (the embedded Api, or a silo on PostgreSQL), so each
/// call crosses the gateway. Reports enrollments/s, call latency, the host's RSS and, on PostgreSQL, rows written.
/// </summary>
public static class EnrollBenchmark
{
    public static async Task<int> RunAsync(HarnessArgs args)
    {
        var topology = args.String("--topology") ?? "embedded";
        var count = args.Int("--count", topology == "embedded" ? 50_000 : 20_000);
        var concurrency = args.Int("--concurrency", 256);
        var maxSeconds = args.Int("--max-seconds", 110);
        var json = args.String("--json");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(maxSeconds + 120));

        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions(), stop.Token);
        Console.WriteLine($"enroll: topology {topology}, {count:N0} friends, {concurrency} calls in flight, {Environment.ProcessorCount} cores; starting hosts…");
        await using var hosts = await BenchTopology.StartAsync(topology, BenchScenarios.Enroll, line.BaseUrl, withApi: false, args, stop.Token);
        var idle = hosts.Silo.Memory();

        using var clientHost = await HarnessClient.StartAsync(hosts, stop.Token);
        var grains = clientHost.Services.GetRequiredService<IClusterClient>();

        var runTag = Guid.NewGuid().ToString("N")[..8];
        // Warm-up outside the measurement (JIT on both sides, the scenario catalogue), on friends of their own.
        await EnrollAsync(grains, "bench-enroll", "W" + runTag, 500, Math.Min(concurrency, 32), null, () => DateTimeOffset.UtcNow, stop.Token);

        var clock = Stopwatch.StartNew();
        var outcomes = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var progress = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(1000, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                var done = outcomes.Values.Sum();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {clock.Elapsed.TotalSeconds,5:0.0} s  {done,8:N0} of {count:N0}  {done / clock.Elapsed.TotalSeconds,7:N0}/s  host RSS {hosts.Silo.Memory().Rss / 1048576} MB"));
                if (done >= count)
                {
                    break;
                }
            }
        }, CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        deadline.CancelAfter(TimeSpan.FromSeconds(maxSeconds));
        var latency = await EnrollAsync(grains, "bench-enroll", "U" + runTag, count, concurrency, outcomes, () => DateTimeOffset.UtcNow, deadline.Token);
        var elapsed = clock.Elapsed.TotalSeconds;
        await progress.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { }, TaskScheduler.Default);
        var enrolled = outcomes.GetValueOrDefault(nameof(EnrollOutcome.Enrolled));
        var memory = hosts.Silo.Memory();

        (long Rows, long Bytes)? storage = null, reminders = null;
        if (hosts.Postgres is { } pg)
        {
            storage = await pg.GrainStateAsync();
            reminders = await pg.TableAsync("orleansreminderstable");
        }

        await clientHost.StopAsync(CancellationToken.None);

        Console.WriteLine();
        Console.WriteLine($"enroll, topology {topology}, {concurrency} calls in flight");
        Console.WriteLine("| topology | friends | s | enrollments/s | p50 ms | p99 ms | max ms | outcomes | host RSS idle → after (peak) | grain state rows (size) | OrleansRemindersTable rows (size) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {topology} | {count:N0} | {elapsed:0.0} | {enrolled / elapsed:N0} | {latency.Percentile(50):0.0} | {latency.Percentile(99):0.0} | {latency.Max:0.0} | " +
            $"{string.Join(", ", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}: {o.Value:N0}"))} | " +
            $"{idle.Rss / 1048576} → {memory.Rss / 1048576} MB ({memory.PeakRss / 1048576} MB) | " +
            $"{(storage is { } s ? $"{s.Rows:N0} ({s.Bytes / 1048576.0:0.0} MB)" : "–")} | {(reminders is { } r ? $"{r.Rows:N0} ({r.Bytes / 1048576.0:0.0} MB)" : "–")} |"));
        var problems = hosts.Silo.Problems();
        if (problems.Count > 0)
        {
            Console.WriteLine($"{hosts.Silo.Name} logged {problems.Count} warning/error line(s); the first: {problems[0]}");
        }

        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new
            {
                mode = "enroll",
                topology,
                friends = count,
                concurrency,
                seconds = elapsed,
                enrollmentsPerSecond = enrolled / elapsed,
                p50Ms = latency.Percentile(50),
                p99Ms = latency.Percentile(99),
                maxMs = latency.Max,
                outcomes,
                hostRssIdleBytes = idle.Rss,
                hostRssBytes = memory.Rss,
                hostPeakRssBytes = memory.PeakRss,
                grainStateRows = storage?.Rows,
                grainStateBytes = storage?.Bytes,
                orleansRemindersRows = reminders?.Rows,
                orleansRemindersBytes = reminders?.Bytes,
                hostWarnings = problems.Count,
                processorCount = Environment.ProcessorCount,
            }, new JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
            Console.WriteLine($"written {json}");
        }

        return 0;
    }

    /// <summary>
    /// Enrolls friends <c>{prefix}{index:x24}</c> for index 0 … count−1 with K calls in flight; the ids are made as
    /// they are needed, so a million friends cost no memory here. <paramref name="at"/> is the enrollment's time, from
    /// which the scenario's first wait counts.
    /// </summary>
    public static async Task<LatencySample> EnrollAsync(
        IClusterClient grains, string scenarioId, string prefix, int count, int concurrency, ConcurrentDictionary<string, long>? outcomes,
        Func<DateTimeOffset> at, CancellationToken cancellationToken)
    {
        var next = -1;
        var parts = new ConcurrentBag<LatencySample>();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var own = new LatencySample();
            parts.Add(own);
            int index;
            while (!cancellationToken.IsCancellationRequested && (index = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                string outcome;
                try
                {
                    var result = await grains.GetFriend(BenchTopology.ChannelId, prefix + index.ToString("x24", CultureInfo.InvariantCulture))
                        .Enroll(new EnrollCommand { ScenarioId = scenarioId, At = at(), Source = "load-harness" });
                    outcome = result.Outcome.ToString();
                    own.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception exception) when (exception is TimeoutException or OrleansException)
                {
                    outcome = exception.GetType().Name;
                }

                outcomes?.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            }
        }, CancellationToken.None));
        await Task.WhenAll(workers);
        return LatencySample.Merge(parts);
    }
}
