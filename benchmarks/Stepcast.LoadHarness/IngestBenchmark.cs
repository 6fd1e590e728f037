using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Stepcast.FakeLine;

namespace Stepcast.LoadHarness;

/// <summary>
/// <c>ingest</c> mode: signed follow webhooks over HTTP to the real Api process (embedded, or as the client of a
/// PostgreSQL cluster), from K concurrent workers in this process — open loop at increasing offered rates (each
/// request has a scheduled send time; a worker waits for it), then closed loop (back to back) for the maximum.
/// Every event is a new friend, so every event starts the follow scenario: a state write, a reminder, a push.
/// </summary>
public static class IngestBenchmark
{
    public sealed record Phase(
        string Loop, int OfferedEventsPerSecond, double Seconds, long EventsSent, long EventsNotSent, long EventsAcknowledged, double SustainedEventsPerSecond,
        double P50Ms, double P99Ms, double MaxMs, double P99FromScheduleMs, IReadOnlyDictionary<string, long> Errors, long PushesAtFakeLine,
        double HostCpuCores = 0, double HostCpuMicrosecondsPerEvent = 0, double PostgresCpuCores = 0, double HarnessCpuCores = 0,
        double HostAllocatedKbPerEvent = 0, double HostGcPauseSeconds = 0, long HostGen2Collections = 0);

    public sealed record Outcome(string Topology, IReadOnlyList<Phase> Phases, long SiloRssBytes, long SiloPeakRssBytes, int HostWarnings, string? FirstWarning, int TotalPushes);

    public static async Task<int> RunAsync(HarnessArgs args)
    {
        var topology = args.String("--topology") ?? "embedded";
        var eventsPerRequest = args.Int("--events-per-request", 1);
        var concurrency = args.Int("--concurrency", 256);
        var json = args.String("--json");
        var maxSeconds = args.Int("--max-seconds", 115);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(maxSeconds + args.Int("--warm-up-seconds", 20) + 120));
        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions(), stop.Token);
        var outcome = await RunTopologyAsync(topology, line, args, stop.Token);

        Console.WriteLine();
        Console.WriteLine($"ingest, topology {topology}, {eventsPerRequest} event(s)/request, {concurrency} workers; pushes at the fake LINE counted during each phase; " +
            $"silo RSS {outcome.SiloRssBytes / 1048576} MB (peak {outcome.SiloPeakRssBytes / 1048576} MB); {outcome.TotalPushes} pushes in total; load average {DispatchBenchmark.LoadAverage()}");
        Print(outcome.Phases);
        if (outcome.HostWarnings > 0)
        {
            Console.WriteLine($"the host logged {outcome.HostWarnings} warning/error line(s); the first: {outcome.FirstWarning}");
        }

        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new
            {
                mode = "ingest",
                topology,
                eventsPerRequest,
                concurrency,
                processorCount = Environment.ProcessorCount,
                machineSpeed = MachineSpeed.Current,
                loadAverage = DispatchBenchmark.LoadAverage(),
                siloRssBytes = outcome.SiloRssBytes,
                siloPeakRssBytes = outcome.SiloPeakRssBytes,
                hostWarnings = outcome.HostWarnings,
                phases = outcome.Phases,
            }, new JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
            Console.WriteLine($"written {json}");
        }

        return 0;
    }

    public static void Print(IEnumerable<Phase> phases)
    {
        Console.WriteLine("| loop | offered events/s | s | events sent | not sent in time | acked (200) | sustained events/s | p50 ms | p99 ms | max ms | p99 from schedule ms | errors | pushes | host CPU cores | host CPU µs/event | PostgreSQL CPU cores | harness CPU cores | host kB allocated/event | host GC pause s | host gen2 GCs |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var p in phases)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {p.Loop} | {(p.Loop == "closed" ? "max" : p.OfferedEventsPerSecond.ToString("N0", CultureInfo.InvariantCulture))} | {p.Seconds:0.0} | {p.EventsSent:N0} | {p.EventsNotSent:N0} | {p.EventsAcknowledged:N0} | {p.SustainedEventsPerSecond:N0} | {p.P50Ms:0.0} | {p.P99Ms:0.0} | {p.MaxMs:0.0} | {p.P99FromScheduleMs:0.0} | {FormatErrors(p.Errors)} | {p.PushesAtFakeLine:N0} | {p.HostCpuCores:0.00} | {p.HostCpuMicrosecondsPerEvent:N0} | {p.PostgresCpuCores:0.00} | {p.HarnessCpuCores:0.00} | {p.HostAllocatedKbPerEvent:N1} | {p.HostGcPauseSeconds:0.00} | {p.HostGen2Collections:N0} |"));
        }
    }

    /// <summary>Starts the hosts of <paramref name="topology"/> (<c>embedded</c>, <c>postgres</c> or the <c>hangfire</c> baseline) and runs the phases.</summary>
    public static async Task<Outcome> RunTopologyAsync(string topology, FakeLineServer line, HarnessArgs args, CancellationToken cancellationToken)
    {
        var rates = args.Ints("--rates", [1_000, 2_000, 5_000, 10_000, 20_000]);
        var stepSeconds = args.Int("--step-seconds", 10);
        var closedSeconds = args.Int("--closed-seconds", 10);
        var concurrency = args.Int("--concurrency", 256);
        var eventsPerRequest = args.Int("--events-per-request", 1);
        var maxSeconds = args.Int("--max-seconds", 115);
        var warmUpSeconds = args.Int("--warm-up-seconds", 20);

        Console.WriteLine($"ingest: topology {topology}, warm-up {warmUpSeconds} s closed loop, rates {string.Join(',', rates)} events/s for {stepSeconds} s each, closed loop {closedSeconds} s, " +
            $"{concurrency} workers, {eventsPerRequest} event(s) per request, {Environment.ProcessorCount} cores, load average {DispatchBenchmark.LoadAverage()}; starting hosts…");
        // --ingest-scenario takes a follow's cost apart: "wait" starts the run without the welcome's send, "none"
        // publishes only an API-started scenario, so a follow is recorded and starts nothing.
        var scenario = (args.String("--ingest-scenario") ?? "welcome") switch
        {
            "welcome" => BenchScenarios.Welcome,
            "wait" => BenchScenarios.WelcomeWithoutSend(),
            "none" => BenchScenarios.Enroll,
            var other => throw new ArgumentException($"--ingest-scenario is '{other}'; expected welcome, wait or none."),
        };
        await using var hosts = await BenchTopology.StartAsync(topology, scenario, line.BaseUrl, withApi: true, args, cancellationToken);
        var pushesBefore = line.Deliveries.Count;
        var url = $"{hosts.ApiBaseUrl}/webhooks/line/{BenchTopology.ChannelId}";
        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
        }) { Timeout = TimeSpan.FromSeconds(10) };
        var sender = new Sender(http, url, eventsPerRequest);

        // Warm-up outside the measurement: connections (to PostgreSQL too), the scenario catalogue, first activations,
        // then the JIT. Tiered compilation with dynamic PGO moves the hot paths through an instrumented tier to their
        // final code only after enough calls, and its background thread competes with a busy host for the two cores:
        // a closed loop measured from a cold start still climbed for 20-30 s (2,200/s in its first 5 s, ~6,000/s from
        // 20 s on), so short phases measured mostly the warm-up. Printed, not counted.
        var warmUpClock = Stopwatch.StartNew();
        await sender.RunPhaseAsync("warm-up", 300, 5, concurrency, quiet: true, warmUpClock, maxSeconds, cancellationToken);
        if (warmUpSeconds > 0)
        {
            var warmUp = await sender.RunPhaseAsync("closed", 0, warmUpSeconds, concurrency, quiet: true, warmUpClock, maxSeconds + warmUpSeconds, cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  warm-up: {warmUp.EventsAcknowledged:N0} events acknowledged in {warmUp.Seconds:0.0} s closed loop ({warmUp.SustainedEventsPerSecond:N0}/s), not counted"));
        }

        var overall = Stopwatch.StartNew();
        var phases = new List<Phase>();
        foreach (var rate in rates)
        {
            if (overall.Elapsed.TotalSeconds + stepSeconds > maxSeconds)
            {
                Console.WriteLine($"skipping {rate}/s and later: the run would pass {maxSeconds} s");
                break;
            }

            phases.Add(await MeasureAsync(hosts, line, () => sender.RunPhaseAsync("open", rate, stepSeconds, concurrency, quiet: false, overall, maxSeconds, cancellationToken)));
        }

        if (closedSeconds > 0 && overall.Elapsed.TotalSeconds + closedSeconds <= maxSeconds)
        {
            phases.Add(await MeasureAsync(hosts, line, () => sender.RunPhaseAsync("closed", 0, closedSeconds, concurrency, quiet: false, overall, maxSeconds, cancellationToken)));
        }

        var memory = hosts.Silo.Memory();
        var problems = hosts.Silo.Problems();
        foreach (var (kind, times) in hosts.Silo.ProblemKinds())
        {
            Console.WriteLine($"  host: {times} × {kind}");
        }

        return new Outcome(topology, phases, memory.Rss, memory.PeakRss, problems.Count, problems.FirstOrDefault(), line.Deliveries.Count - pushesBefore);
    }

    /// <summary>A phase with what it cost: pushes the fake LINE received, CPU of the host processes and of this one.</summary>
    private static async Task<Phase> MeasureAsync(BenchTopology hosts, FakeLineServer line, Func<Task<Phase>> run)
    {
        var pushes = line.Deliveries.Count;
        var hostCpu = hosts.CpuTime();
        var harnessCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var postgresCpu = hosts.Postgres?.CpuTime() ?? TimeSpan.Zero;
        var gcBefore = await hosts.GcReadingAsync(CancellationToken.None);
        var phase = await run();
        var gc = await hosts.GcReadingAsync(CancellationToken.None) is { } gcAfter && gcBefore is not null ? gcAfter - gcBefore : null;
        var postgresUsed = ((hosts.Postgres?.CpuTime() ?? TimeSpan.Zero) - postgresCpu).TotalSeconds;
        var hostUsed = (hosts.CpuTime() - hostCpu).TotalSeconds;
        var harnessUsed = (Process.GetCurrentProcess().TotalProcessorTime - harnessCpu).TotalSeconds;
        return phase with
        {
            PushesAtFakeLine = line.Deliveries.Count - pushes,
            HostCpuCores = hostUsed / phase.Seconds,
            HostCpuMicrosecondsPerEvent = phase.EventsAcknowledged == 0 ? 0 : hostUsed * 1e6 / phase.EventsAcknowledged,
            PostgresCpuCores = postgresUsed / phase.Seconds,
            HarnessCpuCores = harnessUsed / phase.Seconds,
            HostAllocatedKbPerEvent = gc is null || phase.EventsAcknowledged == 0 ? 0 : gc.AllocatedBytes / 1024.0 / phase.EventsAcknowledged,
            HostGcPauseSeconds = gc?.PauseSeconds ?? 0,
            HostGen2Collections = gc?.Gen2Collections ?? 0,
        };
    }

    private static string FormatErrors(IReadOnlyDictionary<string, long> errors) =>
        errors.Count == 0 ? "0" : string.Join(", ", errors.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}: {e.Value:N0}"));

    private sealed class Sender(HttpClient http, string url, int eventsPerRequest)
    {
        // A run-unique prefix, so friend ids never repeat across phases or runs against the same database.
        private readonly string _runTag = Guid.NewGuid().ToString("N")[..8];
        private long _nextFriend;

        public async Task<Phase> RunPhaseAsync(
            string loop, int eventsPerSecond, int seconds, int concurrency, bool quiet, Stopwatch overall, int maxSeconds, CancellationToken cancellationToken)
        {
            var openLoop = loop != "closed";
            var requestsPerSecond = openLoop ? (double)eventsPerSecond / eventsPerRequest : 0;
            var totalRequests = openLoop ? (long)Math.Round(requestsPerSecond * seconds) : long.MaxValue;
            long next = -1, sentEvents = 0, notSentEvents = 0, ackedEvents = 0, inFlight = 0;
            var errors = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
            var latencies = new List<LatencySample>();
            var fromSchedule = new List<LatencySample>();
            var clock = Stopwatch.StartNew();
            var sendUntil = TimeSpan.FromSeconds(seconds);
            var label = openLoop ? $"{eventsPerSecond:N0}/s" : "closed loop";

            using var progressStop = new CancellationTokenSource();
            var progress = quiet ? Task.CompletedTask : Task.Run(async () =>
            {
                while (!progressStop.IsCancellationRequested)
                {
                    try
                    {
                        await Task.Delay(1000, progressStop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }

                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  [{label}] {clock.Elapsed.TotalSeconds,5:0.0} s  sent {Interlocked.Read(ref sentEvents),8:N0}  acked {Interlocked.Read(ref ackedEvents),8:N0}  errors {errors.Values.Sum(),6:N0}  in flight {Interlocked.Read(ref inFlight),4}"));
                }
            }, CancellationToken.None);

            var workers = Enumerable.Range(0, concurrency).Select(_ =>
            {
                var own = new LatencySample();
                var ownSchedule = new LatencySample();
                lock (latencies)
                {
                    latencies.Add(own);
                    fromSchedule.Add(ownSchedule);
                }

                return Task.Run(async () =>
                {
                    while (!cancellationToken.IsCancellationRequested && overall.Elapsed.TotalSeconds < maxSeconds)
                    {
                        var index = Interlocked.Increment(ref next);
                        TimeSpan scheduled;
                        if (openLoop)
                        {
                            if (index >= totalRequests)
                            {
                                break;
                            }

                            // The phase is bounded in time: what the sender could not send within its window is
                            // counted as not sent, not sent late into the next phase.
                            if (clock.Elapsed >= sendUntil)
                            {
                                Interlocked.Add(ref notSentEvents, eventsPerRequest);
                                continue;
                            }

                            scheduled = TimeSpan.FromSeconds(index / requestsPerSecond);
                            var wait = scheduled - clock.Elapsed;
                            if (wait > TimeSpan.FromMilliseconds(1))
                            {
                                await Task.Delay(wait, cancellationToken);
                            }
                        }
                        else
                        {
                            scheduled = clock.Elapsed;
                            if (scheduled >= sendUntil)
                            {
                                break;
                            }
                        }

                        var body = new LineWebhookBody();
                        for (var e = 0; e < eventsPerRequest; e++)
                        {
                            var friend = Interlocked.Increment(ref _nextFriend);
                            body.Follow("U" + _runTag + friend.ToString("x24", CultureInfo.InvariantCulture));
                        }

                        using var request = body.ToSignedRequest(url, BenchTopology.ChannelSecret);
                        Interlocked.Increment(ref inFlight);
                        var started = clock.Elapsed;
                        string? error;
                        try
                        {
                            using var response = await http.SendAsync(request, cancellationToken);
                            error = response.StatusCode == HttpStatusCode.OK ? null : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                        }
                        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                        {
                            error = "timeout";
                        }
                        catch (HttpRequestException exception)
                        {
                            error = exception.HttpRequestError.ToString();
                        }

                        var done = clock.Elapsed;
                        Interlocked.Decrement(ref inFlight);
                        Interlocked.Add(ref sentEvents, eventsPerRequest);
                        if (error is null)
                        {
                            Interlocked.Add(ref ackedEvents, eventsPerRequest);
                            own.Add((done - started).TotalMilliseconds);
                            ownSchedule.Add((done - scheduled).TotalMilliseconds);
                        }
                        else
                        {
                            errors.AddOrUpdate(error, eventsPerRequest, (_, count) => count + eventsPerRequest);
                        }
                    }
                }, CancellationToken.None);
            }).ToList();
            await Task.WhenAll(workers);
            var elapsed = clock.Elapsed.TotalSeconds;
            await progressStop.CancelAsync();
            await progress;

            var acked = LatencySample.Merge(latencies);
            var late = LatencySample.Merge(fromSchedule);
            return new Phase(loop, eventsPerSecond, elapsed, sentEvents, notSentEvents, ackedEvents, ackedEvents / elapsed,
                acked.Percentile(50), acked.Percentile(99), acked.Max, late.Percentile(99),
                new SortedDictionary<string, long>(errors, StringComparer.Ordinal), 0);
        }
    }
}
