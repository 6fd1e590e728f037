namespace Stepcast.Grains.Friends;

/// <summary>
/// Where in the <see cref="EngineOptions.WakeSpread"/> window a friend's reminder fires after its due time. A
/// campaign or a friend-add wave puts thousands (a brand's whole audience) on the same due moment; fired together,
/// every one of them activates and reads its state in the same second, and storage, not LINE, sets the pace, with
/// reminder ticks timing out and repeating. Spread by a hash of the user id, each friend keeps its own offset, so
/// the spread is the same on every silo and after every restart.
/// </summary>
public static class WakeSpread
{
    public static TimeSpan OffsetFor(string lineUserId, TimeSpan spread)
    {
        ArgumentNullException.ThrowIfNull(lineUserId);
        var milliseconds = (long)spread.TotalMilliseconds;
        if (milliseconds <= 0)
        {
            return TimeSpan.Zero;
        }

        // FNV-1a: stable across processes, unlike string.GetHashCode.
        var hash = 14695981039346656037UL;
        foreach (var character in lineUserId)
        {
            hash = (hash ^ character) * 1099511628211UL;
        }

        return TimeSpan.FromMilliseconds((long)(hash % (ulong)milliseconds));
    }
}
