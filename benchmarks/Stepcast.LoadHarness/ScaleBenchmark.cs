using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.FakeLine;

namespace Stepcast.LoadHarness;

/// <summary>
/// <c>scale</c> mode: N friends enrolled (the enroll path a campaign will use) into a scenario whose send is due
/// for all of them at one moment, then left waiting: enrollment rate, the grain host's RSS and bytes per waiting
/// friend, then the time until every friend has been sent the step. Production settings: the rate limiter on and
/// multicast coalescing on (the message has no placeholders). Friend ids are made as they are needed.
/// </summary>
public static class ScaleBenchmark
{
    public static async Task<int> RunAsync(HarnessArgs args)
    {
        var topology = args.String("--topology") ?? "embedded";
        var count = args.Int("--count", 1_000_000);
        var concurrency = args.Int("--concurrency", 256);
        // Enrolling, then long enough for idle friends to leave memory (FriendGrain's collection age, 2 minutes, plus
        // the collector's 1-minute quantum), so the RSS read just before the due time is that of friends waiting; and
        // past the engine's wake slot horizon (15 minutes), as a campaign days ahead is.
        var lead = TimeSpan.FromSeconds(args.Int("--lead-seconds", 1_000 + count / (topology == "embedded" ? 2_000 : 500)));
        if (lead >= BenchScenarios.ScaleWait)
        {
            Console.Error.WriteLine($"--lead-seconds must be under {BenchScenarios.ScaleWait.TotalSeconds:0}, the scale scenario's wait.");
            return 2;
        }

        var drain = TimeSpan.FromSeconds(args.Int("--drain-seconds", 300));
        var json = args.String("--json");
        using var stop = new CancellationTokenSource(lead + drain + TimeSpan.FromMinutes(5));

        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions(), stop.Token);
        Console.WriteLine($"scale: topology {topology}, {count:N0} friends, due in {lead.TotalSeconds:0} s, {Environment.ProcessorCount} cores, load average {DispatchBenchmark.LoadAverage()}; starting hosts…");
        var settings = new Dictionary<string, string>();
        await using var hosts = await BenchTopology.StartAsync(
            topology, [BenchScenarios.ScalePlain], settings, line.BaseUrl, withApi: false, args, stop.Token);
        using var client = await HarnessClient.StartAsync(hosts, stop.Token);
        var idleRss = hosts.Silo.Memory().Rss;
        var idleHeap = await hosts.ManagedHeapAfterLastGcAsync(stop.Token);
        long waitingRss = 0;
        long? waitingHeap = null;
        int? friendActivations = null;
        var grains = client.Services.GetRequiredService<IClusterClient>();
        var round = new DueRound(hosts, line, DueRound.ThroughGrains(grains, BenchScenarios.ScaleWait))
        {
            // Whether the waiting friends really left memory: the silo's own count of friend activations.
            JustBeforeDue = async () =>
            {
                var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
                friendActivations = statistics.Where(s => s.GrainType.Contains("friend", StringComparison.OrdinalIgnoreCase)).Sum(s => s.ActivationCount);
                waitingHeap = await hosts.ManagedHeapAfterLastGcAsync(stop.Token);
                Console.WriteLine($"  just before the due time: {friendActivations:N0} friend activations, host RSS {hosts.Silo.Memory().Rss / 1048576} MB, managed heap after the last GC {waitingHeap / 1048576} MB");
            },
            WhileWaiting = secondsToDue =>
            {
                if (secondsToDue > 0)
                {
                    waitingRss = hosts.Silo.Memory().Rss;
                }
            },
        };
        var tag = Guid.NewGuid().ToString("N")[..8];
        await round.WarmUpAsync("bench-scale-plain", "W" + tag, 500, stop.Token);

        (long Rows, long Bytes)? storage = null, reminders = null;
        var result = await round.RunAsync("bench-scale-plain", "U" + tag, count, concurrency, lead, drain, stop.Token);
        var memory = hosts.Silo.Memory();
        if (hosts.Postgres is { } pg)
        {
            storage = await pg.GrainStateAsync();
            reminders = await pg.TableAsync("orleansreminderstable");
        }

        var problems = hosts.Silo.Problems();
        foreach (var (kind, times) in hosts.Silo.ProblemKinds())
        {
            Console.WriteLine($"  host: {times} × {kind}");
        }

        await client.StopAsync(CancellationToken.None);

        Console.WriteLine();
        Console.WriteLine($"scale, topology {topology}, load average at the end {DispatchBenchmark.LoadAverage()}");
        Console.WriteLine("| topology | friends | enrolled | enroll s | enrollments/s | friend activations just before due | host RSS idle | host RSS waiting (just before due) | bytes per waiting friend (RSS) | managed heap idle → waiting | heap bytes per waiting friend | host peak RSS | recipients (distinct) | multicast + push requests | all sent s after due | recipients/s | lag p50 s | lag p99 s | grain state rows (size) | OrleansRemindersTable rows (size) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |");
        var enrolled = result.EnrollOutcomes.GetValueOrDefault("Enrolled");
        var perFriend = enrolled == 0 ? 0 : (waitingRss - idleRss) / (double)enrolled;
        double? heapPerFriend = enrolled == 0 || idleHeap is null || waitingHeap is null ? null : (waitingHeap.Value - idleHeap.Value) / (double)enrolled;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {topology} | {count:N0} | {enrolled:N0} | {result.EnrollSeconds:0.0} | {result.EnrollmentsPerSecond:N0} | {friendActivations?.ToString("N0", CultureInfo.InvariantCulture) ?? "?"} | {idleRss / 1048576:N0} MB | {waitingRss / 1048576:N0} MB | {perFriend:N0} | {idleHeap / 1048576:N0} → {waitingHeap / 1048576:N0} MB | {heapPerFriend:N0} | {memory.PeakRss / 1048576:N0} MB | " +
            $"{result.Recipients:N0} ({result.DistinctRecipients:N0}){(result.Complete ? "" : " INCOMPLETE")} | {result.MulticastRequests:N0} + {result.PushRequests:N0} | {result.SpanSeconds:0.0} | {result.RecipientsPerSecond:N0} | " +
            $"{result.LagP50Ms / 1000:0.0} | {result.LagP99Ms / 1000:0.0} | {(storage is { } s ? $"{s.Rows:N0} ({s.Bytes / 1048576.0:0} MB)" : "–")} | {(reminders is { } r ? $"{r.Rows:N0} ({r.Bytes / 1048576.0:0} MB)" : "–")} |"));
        if (result.EnrolledBeforeDueSeconds < 0)
        {
            Console.WriteLine($"enrollment ended {-result.EnrolledBeforeDueSeconds:0} s after the due time: the waiting RSS is not of all friends");
        }

        if (problems.Count > 0)
        {
            Console.WriteLine($"{hosts.Silo.Name} logged {problems.Count} warning/error line(s); the first: {problems[0]}");
        }

        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new
            {
                mode = "scale",
                topology,
                friends = count,
                concurrency,
                processorCount = Environment.ProcessorCount,
                loadAverage = DispatchBenchmark.LoadAverage(),
                hostRssIdleBytes = idleRss,
                hostRssWaitingBytes = waitingRss,
                friendActivationsBeforeDue = friendActivations,
                bytesPerWaitingFriend = perFriend,
                managedHeapIdleBytes = idleHeap,
                managedHeapWaitingBytes = waitingHeap,
                heapBytesPerWaitingFriend = heapPerFriend,
                hostPeakRssBytes = memory.PeakRss,
                grainStateRows = storage?.Rows,
                grainStateBytes = storage?.Bytes,
                orleansRemindersRows = reminders?.Rows,
                orleansRemindersBytes = reminders?.Bytes,
                hostWarnings = problems.Count,
                result,
            }, new JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
            Console.WriteLine($"written {json}");
        }

        return 0;
    }
}
