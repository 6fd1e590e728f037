using Microsoft.Extensions.Options;

namespace Stepcast.Grains.RateLimiting;

/// <summary>
/// Owns one channel's permit schedule for one LINE API. The schedule lives in memory only: leases are short, and a
/// new activation holds back for as long as an earlier one may have leased ahead (see <see cref="PermitSchedule"/>),
/// which is cheaper than a storage write per lease.
/// </summary>
public sealed class RateLimitGrain(IOptions<RateLimitOptions> options, TimeProvider timeProvider) : Grain, IRateLimitGrain
{
    private PermitSchedule _schedule = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var api = RateLimitKey.ApiOf(this.GetPrimaryKeyString());
        var rule = options.Value.RuleFor(api);
        rule.Validate(api);
        _schedule = new PermitSchedule(rule, options.Value.LookaheadSlots, timeProvider.GetUtcNow(), options.Value.QuietSlots);
        return Task.CompletedTask;
    }

    Task<RateLease> IRateLimitGrain.Lease(int wanted) => Task.FromResult(_schedule.Lease(wanted, timeProvider.GetUtcNow()));
}
