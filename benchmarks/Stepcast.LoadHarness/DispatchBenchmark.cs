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

    public static async Task<int> RunAsync(HarnessArgs args)
    {
        var topology = args.String("--topology") ?? "embedded";
        var count = args.Int("--count", 20_000);
        var concurrency = args.Int("--concurrency", 256);
        var chosen = args.String("--configs") is { } names
            ? names.Split(',', StringSplitOptions.TrimEntries).Select(n => All[int.Parse(n, CultureInfo.InvariantCulture) - 1]).ToList()
            : All;
        // Enrolling must end before the due time; PostgreSQL enrolls ~4× slower than the in-memory host.
        var lead = TimeSpan.FromSeconds(args.Int("--lead-seconds", 10 + count / (topology == "embedded" ? 1_000 : 300)));
        var drain = TimeSpan.FromSeconds(args.Int("--drain-seconds", 90));
        var json = args.String("--json");
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(30));

        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions(), stop.Token);
        Console.WriteLine($"dispatch: topology {topology}, {count:N0} friends due at once, {chosen.Count} configuration(s), {Environment.ProcessorCount} cores, " +
            $"load average {LoadAverage()}");
        var results = new List<(Configuration Configuration, DueRound.Result Result, int HostWarnings)>();
        foreach (var configuration in chosen)
        {
            Console.WriteLine($"[{configuration.Name}] starting hosts…");
            var settings = new Dictionary<string, string>
            {
                ["Stepcast__RateLimits__Enabled"] = configuration.Limiter ? "true" : "false",
                ["Stepcast__Delivery__MulticastWindow"] = configuration.Multicast ? "00:00:00.250" : "00:00:00",
            };
            await using var hosts = await BenchTopology.StartAsync(
                topology, [BenchScenarios.DispatchPersonal, BenchScenarios.DispatchPlain], settings, line.BaseUrl, withApi: false, args, stop.Token);
            using var client = await HarnessClient.StartAsync(hosts, stop.Token);
            var round = new DueRound(hosts, line, client.Services.GetRequiredService<IClusterClient>());
            var tag = Guid.NewGuid().ToString("N")[..8];
            await round.WarmUpAsync(configuration.ScenarioId, "W" + tag, 500, stop.Token);
            var result = await round.RunAsync(configuration.ScenarioId, "U" + tag, count, concurrency, lead, drain, stop.Token);
            results.Add((configuration, result, hosts.Silo.Problems().Count));
            Console.WriteLine($"[{configuration.Name}] {result.RequestsPerSecond:N0} requests/s, {result.RecipientsPerSecond:N0} recipients/s, lag p50 {result.LagP50Ms:N0} ms p99 {result.LagP99Ms:N0} ms");
            await client.StopAsync(CancellationToken.None);
        }

        Console.WriteLine();
        Console.WriteLine($"dispatch, topology {topology}, {count:N0} friends due at once, load average at the end {LoadAverage()}");
        Console.WriteLine("| configuration | enrolled/s | enrolled before due s | push requests | multicast requests | recipients (distinct) | first sent ms after due | all sent s after due | requests/s | recipients/s | lag p50 ms | lag p99 ms | lag max ms | host CPU cores | PG CPU cores |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (configuration, r, _) in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {configuration.Name} | {r.EnrollmentsPerSecond:N0} | {r.EnrolledBeforeDueSeconds:0.0} | {r.PushRequests:N0} | {r.MulticastRequests:N0} | {r.Recipients:N0} ({r.DistinctRecipients:N0}){(r.Complete ? "" : " INCOMPLETE")} | " +
                $"{r.FirstLagMs:N0} | {r.SpanSeconds:0.0} | {r.RequestsPerSecond:N0} | {r.RecipientsPerSecond:N0} | {r.LagP50Ms:N0} | {r.LagP99Ms:N0} | {r.LagMaxMs:N0} | {r.HostCpuCores:0.00} | {r.PostgresCpuCores:0.00} |"));
        }

        foreach (var (configuration, _, warnings) in results.Where(r => r.HostWarnings > 0))
        {
            Console.WriteLine($"[{configuration.Name}] the host logged {warnings} warning/error line(s)");
        }

        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new
            {
                mode = "dispatch",
                topology,
                friends = count,
                concurrency,
                processorCount = Environment.ProcessorCount,
                loadAverage = LoadAverage(),
                rounds = results.Select(r => new { configuration = r.Configuration, result = r.Result, hostWarnings = r.HostWarnings }),
            }, new JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
            Console.WriteLine($"written {json}");
        }

        return 0;
    }

    /// <summary>The 1-, 5- and 15-minute load averages, for the report: other work on the VM moves every figure.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
