using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Orleans.Serialization.Activators;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using Stepcast.Grains.Diagnostics;

namespace Stepcast.Silo.Storage;

public static class DirectPersistentStateExtensions
{
    /// <summary>Every <c>[PersistentState]</c> of this silo calls its storage in the grain's own turn.</summary>
    public static IServiceCollection AddDirectPersistentState(this IServiceCollection services)
    {
        services.RemoveAll<IPersistentStateFactory>();
        return services.AddSingleton<IPersistentStateFactory, DirectPersistentStateFactory>();
    }
}

/// <summary>
/// Gives every <c>[PersistentState]</c> of this silo a <see cref="DirectPersistentState{TState}"/> in place of
/// Orleans' own state object.
/// </summary>
/// <remarks>
/// Orleans 10's state queues each read, write and clear and starts it by yielding the grain's turn, even when nothing
/// else is queued: every operation costs two more scheduled continuations and ~0.5 kB. A due friend writes twice; in a
/// profile of a 20,000-friend multicast burst (embedded) that queue was ~8 % of the host's samples beyond the writes
/// themselves. Without it: 10.3 against 11.9 kB allocated per recipient and 16–20 % more recipients/s in that burst,
/// 38 against 45 kB per follow in the embedded ingest (benchmarks/history.md, "Session 21").
/// </remarks>
public sealed class DirectPersistentStateFactory(IActivatorProvider activators, ILoggerFactory loggerFactory, StepcastMetrics metrics) : IPersistentStateFactory
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<DirectPersistentStateFactory>();

    public IPersistentState<TState> Create<TState>(IGrainContext context, IPersistentStateConfiguration config)
    {
        var storage = string.IsNullOrWhiteSpace(config.StorageName)
            ? context.ActivationServices.GetService<IGrainStorage>()
            : context.ActivationServices.GetKeyedService<IGrainStorage>(config.StorageName);
        if (storage is null)
        {
            throw new BadProviderConfigException(string.IsNullOrWhiteSpace(config.StorageName)
                ? $"No default grain storage is registered, needed by grain type {context.GrainId.Type}."
                : $"No grain storage named \"{config.StorageName}\" is registered, needed by grain type {context.GrainId.Type}.");
        }

        return new DirectPersistentState<TState>(config.StateName, context, storage, activators.GetActivator<TState>(), _logger, metrics);
    }
}

/// <summary>
/// A grain's named state, read when the grain activates, written and cleared by calling its storage provider in the
/// caller's own turn. Operations still run one at a time and in the order asked, as with Orleans' own: one asked
/// while another is in flight (a reentrant grain) waits for it, and a write asked while an earlier one is still
/// waiting joins that one, which stores the state as it is when it starts.
/// </summary>
internal sealed class DirectPersistentState<TState> : IPersistentState<TState>, ILifecycleObserver, IGrainMigrationParticipant
{
    private readonly string _name;
    private readonly IGrainContext _context;
    private readonly IGrainStorage _storage;
    private readonly IActivator<TState> _activator;
    private readonly ILogger _logger;
    private readonly StepcastMetrics _metrics;
    private GrainState<TState>? _grainState;
    private bool _loaded;
    private Task _last = Task.CompletedTask;
    private Task? _waitingWrite;
    private int _queued;
    private int _waitingWriteNumber;

    public DirectPersistentState(string name, IGrainContext context, IGrainStorage storage, IActivator<TState> activator, ILogger logger, StepcastMetrics metrics)
    {
        _name = name;
        _context = context;
        _storage = storage;
        _activator = activator;
        _logger = logger;
        _metrics = metrics;
        context.ObservableLifecycle.Subscribe(nameof(DirectPersistentState<>), GrainLifecycleStage.SetupState, this);
        context.ObservableLifecycle.AddMigrationParticipant(this);
    }

    private enum Operation
    {
        Read,
        Write,
        Clear,
    }

    public TState State
    {
        get => GrainState.State!;
        set => GrainState.State = value;
    }

    public string? Etag
    {
        get => _grainState?.ETag;
        set => GrainState.ETag = value;
    }

    public bool RecordExists => _loaded ? GrainState.RecordExists : throw new InvalidOperationException($"State {_name} of {_context.GrainId} has not been read yet.");

    private GrainState<TState> GrainState => _grainState ??= new GrainState<TState>(_activator.Create());

    public Task ReadStateAsync() => Enqueue(Operation.Read);

    // A write still waiting at the end of the line stores this state too; one behind a read or a clear does not.
    public Task WriteStateAsync() => _waitingWrite is { } waiting && ReferenceEquals(waiting, _last) ? waiting : Enqueue(Operation.Write);

    public Task ClearStateAsync() => Enqueue(Operation.Clear);

    Task ILifecycleObserver.OnStart(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested || _loaded ? Task.CompletedTask : ReadStateAsync();

    Task ILifecycleObserver.OnStop(CancellationToken cancellationToken) => Task.CompletedTask;

    void IGrainMigrationParticipant.OnDehydrate(IDehydrationContext dehydrationContext) =>
        dehydrationContext.TryAddValue(MigrationKey, _grainState);

    void IGrainMigrationParticipant.OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue<GrainState<TState>>(MigrationKey, out var carried) && carried is not null)
        {
            _grainState = carried;
            _loaded = true;
        }
    }

    private string MigrationKey => $"state.{_name}";

    private static string OperationName(Operation operation) => operation switch
    {
        Operation.Read => "read",
        Operation.Write => "write",
        _ => "clear",
    };

    private Task Enqueue(Operation operation)
    {
        if (_last.IsCompleted)
        {
            return _last = RunAsync(operation);
        }

        var number = ++_queued;
        var queued = RunAfterAsync(_last, operation, number);
        if (operation == Operation.Write)
        {
            (_waitingWrite, _waitingWriteNumber) = (queued, number);
        }

        return _last = queued;
    }

    private async Task RunAfterAsync(Task predecessor, Operation operation, int number)
    {
        // Always resumes later, in this grain's turn: the caller has recorded this operation as waiting by then.
        await predecessor.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.ForceYielding);
        if (operation == Operation.Write && _waitingWriteNumber == number)
        {
            // Started: a write asked from now on must store what changes after this point.
            _waitingWrite = null;
        }

        await RunAsync(operation);
    }

    private async Task RunAsync(Operation operation)
    {
        // Orleans records its storage meters in the state object this one replaces: without these, no storage
        // latency or failure of any grain would show on /metrics.
        var started = Stopwatch.GetTimestamp();
        try
        {
            switch (operation)
            {
                case Operation.Read:
                    await _storage.ReadStateAsync(_name, _context.GrainId, GrainState);
                    _loaded = true;
                    break;
                case Operation.Write:
                    await _storage.WriteStateAsync(_name, _context.GrainId, GrainState);
                    break;
                default:
                    await _storage.ClearStateAsync(_name, _context.GrainId, GrainState);
                    GrainState.State = _activator.Create();
                    break;
            }

            _metrics.GrainStorage(_name, OperationName(operation), succeeded: true, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception exception)
        {
            _metrics.GrainStorage(_name, OperationName(operation), succeeded: false, Stopwatch.GetElapsedTime(started));
            var provider = _storage.GetType().Name;
            _logger.LogError(exception, "{Provider} failed to {Operation} state {StateName} of {GrainId}", provider, operation, _name, _context.GrainId);
            if (exception is OrleansException)
            {
                throw;
            }

            throw new OrleansException($"{provider} failed to {operation} state {_name} of {_context.GrainId}: {exception.Message}", exception);
        }
    }
}
