using Microsoft.Extensions.Options;

namespace Stepcast.Silo.Operations;

/// <summary>
/// The first thing to stop. On SIGTERM it flips the host to draining — readiness fails, new webhooks are answered
/// 503 for LINE to redeliver elsewhere — and holds the rest of the shutdown for <see cref="ShutdownOptions.DrainDelay"/>
/// while requests already in flight finish. Kestrel then stops listening and waits for the stragglers, and the
/// Orleans client or silo stops last.
/// </summary>
public sealed partial class HostDrain(IOptions<ShutdownOptions> options, ILogger<HostDrain> logger) : IHostedLifecycleService
{
    private volatile bool _draining;
    private volatile bool _started;

    public bool IsDraining => _draining;

    /// <summary>True once every hosted service (the silo or client included) has started.</summary>
    public bool HasStarted => _started;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var delay = options.Value.DrainDelay;
        LogDraining(delay);
        if (delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The shutdown budget ran out; carry on stopping.
            }
        }
    }

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _started = true;
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Information, "Stopping: draining for {DrainDelay} before closing the listener")]
    private partial void LogDraining(TimeSpan drainDelay);
}
