using Microsoft.Extensions.Logging;

namespace Stepcast.Silo;

/// <summary>
/// Grain calls made while a host starts (registering channels, publishing samples) meet a cluster in motion: during
/// a rolling restart the grain may live on a silo that is shutting down. Such transient failures are retried with
/// backoff for a while instead of failing the start, which would crash-loop the pod.
/// </summary>
public static partial class StartupCalls
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(2);

    public static async Task RetryAsync(Func<Task> call, string what, TimeProvider timeProvider, ILogger logger, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception exception) when (IsTransient(exception) && timeProvider.GetElapsedTime(started) < GiveUpAfter)
            {
                LogRetrying(logger, what, exception.GetType().Name, delay.TotalMilliseconds);
                await Task.Delay(delay, timeProvider, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private static bool IsTransient(Exception exception) =>
        exception is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or OrleansException
        && exception is not InvalidOperationException;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Start-up call '{What}' failed with {Error}; retrying in {DelayMs} ms")]
    private static partial void LogRetrying(ILogger logger, string what, string error, double delayMs);
}
