using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Stepcast.FakeLine;
using Stepcast.Grains;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Hosting;
using Stepcast.Grains.Scenarios;

namespace Stepcast.LoadHarness;

/// <summary>
/// <c>push</c> mode: a one-silo host and the fake LINE server in this process, on loopback only, and
/// <c>LineMessageDelivery</c> driven by N concurrent callers for a fixed number of pushes — once with the limiter
/// off, once on at LINE's push limit, once on with a limit too high to bind (the limiter's own cost), and off again.
/// </summary>
public static class PushBenchmark
{
    private const string ChannelId = "bench";

    public static async Task<int> RunFromArgsAsync(string[] args)
    {
        if (args.Length == 0 || args[0] != "push")
        {
            Console.Error.WriteLine("usage: push [--count N] [--concurrency N]");
            return 2;
        }

        var count = IntArg(args, "--count", 20_000);
        var concurrency = IntArg(args, "--concurrency", 64);
        // The harness stops by itself even if something hangs.
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        Console.WriteLine($"push: {count} pushes, {concurrency} concurrent callers, {Environment.ProcessorCount} cores");
        Console.WriteLine("| limiter | push limit | pushes | seconds | pushes/s | delivered | other outcomes |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        await RunAsync("off", null, count, concurrency, stop.Token);
        await RunAsync("on", 2_000, count, concurrency, stop.Token);
        await RunAsync("on", 1_000_000, count, concurrency, stop.Token);
        // Again at the end: the first run of the process pays for JIT tiering that later runs do not.
        await RunAsync("off", null, count, concurrency, stop.Token);
        return 0;
    }

    private static async Task RunAsync(string limiter, int? pushLimit, int count, int concurrency, CancellationToken cancellationToken)
    {
        await using var line = await FakeLineServer.StartAsync(new FakeLineOptions(), cancellationToken);
        var settings = new Dictionary<string, string?>
        {
            ["Line:ApiBaseUrl"] = line.BaseUrl,
            ["Line:DataApiBaseUrl"] = line.BaseUrl,
            ["Stepcast:RateLimits:Enabled"] = (limiter == "on").ToString(),
            ["Stepcast:Delivery:MaxPermitWait"] = "00:00:30",
        };
        if (pushLimit is { } limit)
        {
            settings["Stepcast:RateLimits:Push:Limit"] = limit.ToString(CultureInfo.InvariantCulture);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            // Free loopback ports, so the harness never collides with a silo or another run on the machine.
            silo.UseLocalhostClustering(FreePort(), FreePort());
            silo.AddMemoryGrainStorageAsDefault();
            silo.AddMemoryGrainStorage(StorageNames.Friends);
            silo.Services.AddStepcastEngine(configuration);
        });
        using var host = builder.Build();
        await host.StartAsync(cancellationToken);
        try
        {
            await host.Services.GetRequiredService<ChannelSettingsCache>().ConfigureAsync(new ChannelSettings
            {
                ChannelId = ChannelId,
                ChannelSecret = "bench-secret",
                AccessToken = "bench-token",
            });
            var delivery = host.Services.GetRequiredService<IMessageDelivery>();
            var messages = System.Collections.Immutable.ImmutableArray.Create(LineMessage.Text("hello"));

            // A short warm-up (JIT, connections, the rate-limit grain's activation hold) outside the measurement.
            await PushAsync(delivery, messages, 200, Math.Min(concurrency, 16), cancellationToken);
            var stopwatch = Stopwatch.StartNew();
            var (delivered, other) = await PushAsync(delivery, messages, count, concurrency, cancellationToken);
            stopwatch.Stop();
            var seconds = stopwatch.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {limiter} | {(pushLimit is null ? "-" : pushLimit.Value.ToString("N0", CultureInfo.InvariantCulture) + "/s")} | {count} | {seconds:0.00} | {count / seconds:N0} | {delivered} | {other} |"));
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<(int Delivered, int Other)> PushAsync(
        IMessageDelivery delivery, System.Collections.Immutable.ImmutableArray<LineMessage> messages, int count, int concurrency,
        CancellationToken cancellationToken)
    {
        var next = -1;
        var delivered = 0;
        var other = 0;
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < count)
            {
                var outcome = await delivery.DeliverAsync(new DeliveryRequest
                {
                    ChannelId = ChannelId,
                    LineUserId = "U" + index.ToString(CultureInfo.InvariantCulture),
                    RetryKey = Guid.NewGuid(),
                    Messages = messages,
                    ScenarioId = "bench",
                    StepId = "push",
                }, cancellationToken);
                Interlocked.Increment(ref outcome.IsDelivered ? ref delivered : ref other);
            }
        }, cancellationToken));
        await Task.WhenAll(workers);
        return (delivered, other);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int IntArg(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }
}
