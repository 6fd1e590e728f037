using System.Globalization;
using System.Text.Json;
using Stepcast.FakeLine;

namespace Stepcast.LoadHarness;

/// <summary>
/// <c>baseline</c> mode: in one run, ingest and dispatch against Stepcast on PostgreSQL and against the Hangfire
/// baseline on PostgreSQL (each on its own throwaway server, the same fake LINE), then the ratios side by side.
/// </summary>
public static class BaselineComparison
{
    public static async Task<int> RunAsync(HarnessArgs args)
    {
        var count = args.Int("--count", 20_000);
        var json = args.String("--json");
        var withIngest = args.String("--skip") != "ingest";
        var withDispatch = args.String("--skip") != "dispatch";
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(40));
        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions(), stop.Token);
        Console.WriteLine($"baseline: Stepcast (cluster topology on PostgreSQL) against Hangfire on PostgreSQL, {Environment.ProcessorCount} cores, load average {DispatchBenchmark.LoadAverage()}");
        var ingestArgs = args.String("--rates") is null ? new HarnessArgs([.. args.All, "--rates", "500,1000,2500,5000"]) : args;

        IngestBenchmark.Outcome? stepcastIngest = null, hangfireIngest = null;
        if (withIngest)
        {
            stepcastIngest = await IngestBenchmark.RunTopologyAsync("postgres", line, ingestArgs, stop.Token);
            line.Deliveries.Clear();
            hangfireIngest = await IngestBenchmark.RunTopologyAsync("hangfire", line, ingestArgs, stop.Token);
            line.Deliveries.Clear();
        }

        List<DispatchBenchmark.Round> rounds = [];
        if (withDispatch)
        {
            rounds.AddRange(await DispatchBenchmark.RunTopologyAsync(
                "postgres", [DispatchBenchmark.All[0], DispatchBenchmark.All[2]], count, line, args, stop.Token));
            rounds.AddRange(await DispatchBenchmark.RunTopologyAsync("hangfire", [DispatchBenchmark.HangfireJobs], count, line, args, stop.Token));
        }

        Console.WriteLine();
        Console.WriteLine($"baseline comparison, load average at the end {DispatchBenchmark.LoadAverage()}");
        foreach (var outcome in new[] { stepcastIngest, hangfireIngest }.OfType<IngestBenchmark.Outcome>())
        {
            Console.WriteLine($"ingest, {outcome.Topology} (host warnings: {outcome.HostWarnings})");
            IngestBenchmark.Print(outcome.Phases);
            Console.WriteLine();
        }

        if (rounds.Count > 0)
        {
            DispatchBenchmark.Print(rounds);
            Console.WriteLine();
        }

        var ratios = new List<(string Measure, double Stepcast, double Hangfire, string Target)>();
        if (stepcastIngest is not null && hangfireIngest is not null)
        {
            ratios.Add(("ingest: best sustained events/s (any phase)", Best(stepcastIngest), Best(hangfireIngest), "≥ 20×"));
        }

        if (rounds.Count == 3)
        {
            var hangfire = rounds[2].Result;
            ratios.Add(("dispatch: pushes/s, one push per friend (Stepcast limiter off)", rounds[0].Result.RequestsPerSecond, hangfire.RequestsPerSecond, "≥ 10×"));
            ratios.Add(("dispatch: recipients/s (Stepcast multicast, limiter on)", rounds[1].Result.RecipientsPerSecond, hangfire.RecipientsPerSecond, "≥ 10×"));
            if (hangfire.Complete && rounds[0].Result.Complete)
            {
                ratios.Add(("dispatch: time until all sent, s (lower is better; ratio Hangfire ÷ Stepcast push)", rounds[0].Result.SpanSeconds, hangfire.SpanSeconds, ""));
            }
            else
            {
                Console.WriteLine($"Hangfire sent {hangfire.Recipients:N0} of {count:N0} within --drain-seconds; its rates are over that window.");
            }
        }

        Console.WriteLine("| measure | Stepcast | Hangfire | Stepcast ÷ Hangfire | target |");
        Console.WriteLine("| --- | ---: | ---: | ---: | --- |");
        foreach (var (measure, stepcast, hangfire, target) in ratios)
        {
            var ratio = measure.Contains("lower is better", StringComparison.Ordinal) ? hangfire / stepcast : stepcast / hangfire;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {measure} | {stepcast:N1} | {hangfire:N1} | {ratio:0.00}× | {target} |"));
        }

        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new
            {
                mode = "baseline",
                friends = count,
                processorCount = Environment.ProcessorCount,
                machineSpeed = MachineSpeed.Current,
                loadAverage = DispatchBenchmark.LoadAverage(),
                ingest = new[] { stepcastIngest, hangfireIngest },
                dispatch = rounds,
                ratios = ratios.Select(r => new { r.Measure, r.Stepcast, r.Hangfire }),
            }, new JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
            Console.WriteLine($"written {json}");
        }

        return 0;
    }

    private static double Best(IngestBenchmark.Outcome outcome) =>
        outcome.Phases.Count == 0 ? 0 : outcome.Phases.Max(p => p.SustainedEventsPerSecond);
}
