using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.FakeLine;

namespace Stepcast.LoadHarness;

/// <summary>
/// <c>dispatch</c> mode: M friends due for a send at the same moment (see <see cref="DueRound"/>), in several
/// configurations, each on freshly started hosts: personalised pushes with the rate limiter off and on, and a
/// shared message with multicast coalescing with the limiter on and off. Sends go through the real LINE client
/// to the fake LINE server, which has no limit of its own.
/// </summary>
public static class DispatchBenchmark
{
    public sealed record Configuration(string Name, string ScenarioId, bool Limiter, bool Multicast);

    public static readonly IReadOnlyList<Configuration> All =
    [
        new("push, limiter off", "bench-dispatch-personal", Limiter: false, Multicast: false),
        new("push, limiter on", "bench-dispatch-personal", Limiter: true, Multicast: false),
        new("multicast, limiter on", "bench-dispatch-plain", Limiter: true, Multicast: true),
        new("multicast, limiter off", "bench-dispatch-plain", Limiter: false, Multicast: true),
    ];

    /// <summary>The baseline's only configuration: one Hangfire job, one push, per friend; no rate limiter.</summary>
    public static readonly Configuration HangfireJobs = new("Hangfire: a push job per friend", "", Limiter: false, Multicast: false);

    /// <summary>
    /// The floor's only configuration (benchmarks/Stepcast.FloorHost): a grain timer, one state write and a share of a
    /// multicast sent by the silo per friend, nothing else.
    /// </summary>
    public static readonly Configuration FloorMulticast = new("floor: timer, multicast, one write", "", Limiter: false, Multicast: true);

    /// <summary>One burst's result; <paramref name="Burst"/> counts from 1 on the same hosts (<c>--bursts</c>), so 2 and later are warm.</summary>
    public sealed record Round(string Topology, Configuration Configuration, DueRound.Result Result, int HostWarnings, int Burst = 1);

    public static async Task<int> RunAsync(HarnessArgs args)
    {
        var topology = args.String("--topology") ?? "embedded";
        var count = args.Int("--count", 20_000);
        var chosen = topology switch
        {
            "hangfire" => [HangfireJobs],
            "floor" => [FloorMulticast],
            _ => args.String("--configs") is { } names
                ? names.Split(',', StringSplitOptions.TrimEntries).Select(n => All[int.Parse(n, CultureInfo.InvariantCulture) - 1]).ToList()
                : All,
        };
        var json = args.String("--json");
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(30));

        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions(), stop.Token);
        Console.WriteLine($"dispatch: topology {topology}, {count:N0} friends due at once, {chosen.Count} configuration(s), {Environment.ProcessorCount} cores, " +
            $"load average {LoadAverage()}");
        var results = await RunTopologyAsync(topology, chosen, count, line, args, stop.Token);
        Console.WriteLine();
        Console.WriteLine($"dispatch, {count:N0} friends due at once, load average at the end {LoadAverage()}");
        Print(results);
        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new
            {
                mode = "dispatch",
                topology,
                friends = count,
                processorCount = Environment.ProcessorCount,
                machineSpeed = MachineSpeed.Current,
                loadAverage = LoadAverage(),
                rounds = results,
            }, new JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
            Console.WriteLine($"written {json}");
        }

        return 0;
    }

    /// <summary>Each configuration on freshly started hosts of <paramref name="topology"/>.</summary>
    public static async Task<List<Round>> RunTopologyAsync(
        string topology, IReadOnlyList<Configuration> configurations, int count, FakeLineServer line, HarnessArgs args, CancellationToken cancellationToken)
    {
        var concurrency = args.Int("--concurrency", 256);
        // Enrolling must end before the due time; PostgreSQL enrolls ~4× slower than the in-memory host.
        var lead = TimeSpan.FromSeconds(args.Int("--lead-seconds", 10 + count / (topology == "embedded" ? 1_000 : 300)));
        var drain = TimeSpan.FromSeconds(args.Int("--drain-seconds", 150));
        // A first burst after a start also pays for JIT compilation in the hosts and the fake LINE (~1,400 methods
        // compiled in the host within seconds, session 17); later bursts on the same hosts show the warm figure.
        var bursts = args.Int("--bursts", 1);
        var results = new List<Round>();
        foreach (var configuration in configurations)
        {
            Console.WriteLine($"[{topology}: {configuration.Name}] starting hosts…");
            var settings = new Dictionary<string, string>
            {
                ["Stepcast__RateLimits__Enabled"] = configuration.Limiter ? "true" : "false",
                ["Stepcast__Delivery__MulticastWindow"] = configuration.Multicast ? "00:00:00.250" : "00:00:00",
            };
            await using var hosts = await BenchTopology.StartAsync(
                topology, [BenchScenarios.DispatchPersonal, BenchScenarios.DispatchPlain], settings, line.BaseUrl, withApi: false, args, cancellationToken);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            // The baseline and the floor are enrolled over HTTP, as the Hangfire app is.
            using var client = topology is "hangfire" or "floor" ? null : await HarnessClient.StartAsync(hosts, cancellationToken);
            var round = new DueRound(hosts, line, client is null
                ? HangfireEnrollments.ThroughHttp(http, hosts.ApiBaseUrl!)
                : DueRound.ThroughGrains(client.Services.GetRequiredService<IClusterClient>()));
            var tag = Guid.NewGuid().ToString("N")[..8];
            await round.WarmUpAsync(configuration.ScenarioId, "W" + tag, 500, cancellationToken);
            for (var burst = 1; burst <= bursts; burst++)
            {
                var result = await round.RunAsync(configuration.ScenarioId, $"U{burst}{tag}", count, concurrency, lead, drain, cancellationToken);
                results.Add(new Round(topology, configuration, result, hosts.Silo.Problems().Count, burst));
                foreach (var (kind, times) in hosts.Silo.ProblemKinds())
                {
                    Console.WriteLine($"  host: {times} × {kind}");
                }

                Console.WriteLine($"[{topology}: {configuration.Name}, burst {burst}] {result.RequestsPerSecond:N0} requests/s, {result.RecipientsPerSecond:N0} recipients/s, lag p50 {result.LagP50Ms:N0} ms p99 {result.LagP99Ms:N0} ms");
            }

            if (client is not null)
            {
                await client.StopAsync(CancellationToken.None);
            }
        }

        return results;
    }

    public static void Print(IEnumerable<Round> rounds)
    {
        Console.WriteLine("| topology | configuration | burst | enrolled/s | enrolled before due s | push requests | multicast requests | recipients (distinct) | first sent ms after due | all sent s after due | requests/s | recipients/s | lag p50 ms | lag p99 ms | lag max ms | host CPU cores | PG CPU cores | host kB allocated/recipient | host GC pause s | host gen2 GCs | host warnings |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (topology, configuration, r, warnings, burst) in rounds)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {topology} | {configuration.Name} | {burst} | {r.EnrollmentsPerSecond:N0} | {r.EnrolledBeforeDueSeconds:0.0} | {r.PushRequests:N0} | {r.MulticastRequests:N0} | {r.Recipients:N0} ({r.DistinctRecipients:N0}){(r.Complete ? "" : " INCOMPLETE")} | " +
                $"{r.FirstLagMs:N0} | {r.SpanSeconds:0.0} | {r.RequestsPerSecond:N0} | {r.RecipientsPerSecond:N0} | {r.LagP50Ms:N0} | {r.LagP99Ms:N0} | {r.LagMaxMs:N0} | {r.HostCpuCores:0.00} | {r.PostgresCpuCores:0.00} | {r.HostAllocatedKbPerRecipient:N1} | {r.HostGcPauseSeconds:0.00} | {r.HostGen2Collections:N0} | {warnings} |"));
        }
    }

    /// <summary>The 1-, 5- and 15-minute load averages, for the report: other work on the VM moves every figure.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
