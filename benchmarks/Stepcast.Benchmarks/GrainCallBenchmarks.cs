using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Stepcast.Benchmarks;

/// <summary>
/// What the engine's building blocks cost on one silo: a call to an active grain, the same calls all to one reentrant
/// grain, and the two ways a grain can run work in a turn of its own right after the current one (a one-way call to
/// itself, or a grain timer due at once). Each operation runs 256 at once, so the figure is the CPU a block costs
/// under load, not its latency.
/// </summary>
[MemoryDiagnoser]
public class GrainCallBenchmarks
{
    private const int Grains = 256;
    private IHost _host = null!;
    private IProbeGrain[] _probes = [];
    private IHotProbeGrain _hot = null!;

    [GlobalSetup]
    public void Setup()
    {
        _host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .UseOrleans(silo => silo.UseLocalhostClustering(FreePort(), FreePort()))
            .Build();
        _host.StartAsync().GetAwaiter().GetResult();
        var grains = _host.Services.GetRequiredService<IGrainFactory>();
        _probes = [.. Enumerable.Range(0, Grains).Select(i => grains.GetGrain<IProbeGrain>(i))];
        _hot = grains.GetGrain<IHotProbeGrain>(0);
        Task.WhenAll(_probes.Select(probe => probe.Ping()).Append(_hot.Ping())).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host.StopAsync().GetAwaiter().GetResult();
        _host.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Grains)]
    public Task Call() => Task.WhenAll(_probes.Select(probe => probe.Ping()));

    /// <summary>The same calls, all to one reentrant grain, as every send of a channel calls its quota grain.</summary>
    [Benchmark(OperationsPerInvoke = Grains)]
    public Task CallOneHotGrain() => Task.WhenAll(_probes.Select(_ => _hot.Ping()));

    [Benchmark(OperationsPerInvoke = Grains)]
    public Task CallThenSelfCall() => Task.WhenAll(_probes.Select(async probe =>
    {
        await probe.RunLaterBySelfCall();
        await probe.WhenRun();
    }));

    [Benchmark(OperationsPerInvoke = Grains)]
    public Task CallThenTimer() => Task.WhenAll(_probes.Select(async probe =>
    {
        await probe.RunLaterByTimer();
        await probe.WhenRun();
    }));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public interface IProbeGrain : IGrainWithIntegerKey
{
    Task Ping();

    /// <summary>Answers, then runs a turn of its own by a one-way call to itself.</summary>
    Task RunLaterBySelfCall();

    /// <summary>Answers, then runs a turn of its own by a grain timer due at once.</summary>
    Task RunLaterByTimer();

    [OneWay]
    Task Later();

    /// <summary>Completes once the later turn has run.</summary>
    [AlwaysInterleave]
    Task WhenRun();
}

public sealed class ProbeGrain : Grain, IProbeGrain
{
    private TaskCompletionSource _run = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IGrainTimer? _timer;

    public Task Ping() => Task.CompletedTask;

    public Task RunLaterBySelfCall()
    {
        _run = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        this.AsReference<IProbeGrain>().Later().Ignore();
        return Task.CompletedTask;
    }

    public Task RunLaterByTimer()
    {
        _run = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _timer = this.RegisterGrainTimer(
            static (self, _) => self.Later(), this, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        return Task.CompletedTask;
    }

    public Task Later()
    {
        _timer?.Dispose();
        _timer = null;
        _run.TrySetResult();
        return Task.CompletedTask;
    }

    public Task WhenRun() => _run.Task;
}

public interface IHotProbeGrain : IGrainWithIntegerKey
{
    Task Ping();
}

[Reentrant]
public sealed class HotProbeGrain : Grain, IHotProbeGrain
{
    public Task Ping() => Task.CompletedTask;
}
