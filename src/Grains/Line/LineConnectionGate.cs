using Microsoft.Extensions.Options;

namespace Stepcast.Grains.Line;

/// <summary>
/// The calls to LINE this process has open at once, at most <see cref="LineClientOptions.MaxConnections"/>; one per
/// process, shared by every <see cref="LineMessagingClient"/>. A call waits here for its turn before its own timeout
/// starts: waiting in HttpClient's connection pool counted against that timeout, so when 100,000 pushes fell due at
/// once with the rate limiter off, 10,000 of them "timed out" without ever leaving the process and waited a minute.
/// </summary>
public sealed class LineConnectionGate(IOptions<LineClientOptions> options)
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConnections, options.Value.MaxConnections);

    /// <summary>Waits for a free slot; false if none came free before <paramref name="cancellationToken"/>.</summary>
    public async Task<bool> EnterAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public void Leave() => _slots.Release();
}
