using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Storage;

namespace Stepcast.Tests.Api;

/// <summary>Switches for <see cref="FaultInjectingGrainStorage"/>, flipped by a test while the host runs.</summary>
public sealed class GrainStorageFaults
{
    private volatile bool _failWrites;
    private long _writeDelayTicks;

    /// <summary>Writes throw, as they would with the database down.</summary>
    public bool FailWrites { get => _failWrites; set => _failWrites = value; }

    /// <summary>Writes take this long before they happen (a slow database).</summary>
    public TimeSpan WriteDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _writeDelayTicks));
        set => Interlocked.Exchange(ref _writeDelayTicks, value.Ticks);
    }

    public void Clear()
    {
        FailWrites = false;
        WriteDelay = TimeSpan.Zero;
    }
}

/// <summary>
/// Fault injection around a real grain storage provider: reads and writes go to the wrapped provider unless a
/// fault is switched on. The grains above it run unchanged, so a test sees what production would on an outage.
/// </summary>
public sealed class FaultInjectingGrainStorage(IGrainStorage inner, GrainStorageFaults faults) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await BeforeWriteAsync();
        await inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        inner.ReadStateAsync(stateName, grainId, grainState, cancellationToken);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        await BeforeWriteAsync();
        await inner.WriteStateAsync(stateName, grainId, grainState, cancellationToken);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        inner.ClearStateAsync(stateName, grainId, grainState, cancellationToken);

    public void Participate(ISiloLifecycle lifecycle) =>
        (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);

    private async Task BeforeWriteAsync()
    {
        if (faults.WriteDelay is { Ticks: > 0 } delay)
        {
            await Task.Delay(delay);
        }

        if (faults.FailWrites)
        {
            throw new InvalidOperationException("Injected grain storage fault: the store is unavailable.");
        }
    }

    /// <summary>
    /// Wraps the grain storage registered under <paramref name="name"/>. The embedded host's silo shares the web
    /// host's service collection, so a WebApplicationFactory can do this from ConfigureTestServices with no hook
    /// in production code.
    /// </summary>
    public static void Decorate(IServiceCollection services, string name, GrainStorageFaults faults)
    {
        var index = -1;
        for (var i = services.Count - 1; i >= 0 && index < 0; i--)
        {
            if (services[i].ServiceType == typeof(IGrainStorage) && services[i].IsKeyedService && Equals(services[i].ServiceKey, name))
            {
                index = i;
            }
        }

        if (index < 0 || services[index].KeyedImplementationFactory is not { } createInner)
        {
            throw new InvalidOperationException($"No keyed grain storage factory named '{name}' to decorate.");
        }

        services[index] = ServiceDescriptor.KeyedSingleton<IGrainStorage>(
            name, (provider, key) => new FaultInjectingGrainStorage((IGrainStorage)createInner(provider, key), faults));
    }
}
