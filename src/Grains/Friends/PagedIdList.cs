using System.Collections.Immutable;

namespace Stepcast.Grains.Friends;

/// <summary>
/// A growing list of LINE user ids kept by a reentrant grain: an open page (sorted ordinally) in the grain's own row,
/// and full pages sealed into page grains of their own, so adding an id rewrites at most one small page however long
/// the list grows. Additions arriving while a write is in flight share the next write (a group commit): a burst
/// costs a few writes, not one each. A full page is stored before the owner records it, so no id is ever only in
/// memory; a crash in between leaves its ids in the open page too, and readers drop the repeat.
/// Used on the owner's scheduler only (the grains are reentrant, not concurrent), so it needs no locks.
/// </summary>
public sealed class PagedIdList(
    int pageSize,
    Func<int, ImmutableArray<string>, Task> storePage,
    Func<IdPage, int, Task> writeOwner)
{
    private long _changes;
    private long _saved;
    private Task? _writing;

    /// <summary>
    /// The live open page, changed by interleaved additions. <c>writeOwner</c> is handed it as it is: it must take what
    /// it stores before its first await (the next addition may be inserting while storage serialises).
    /// </summary>
    public IdPage Open { get; private set; } = new();

    public int SealedPages { get; private set; }

    /// <summary>The write in flight, if any.</summary>
    public Task? Writing => _writing;

    public void Load(IdPage open, int sealedPages) => (Open, SealedPages) = (open, sealedPages);

    /// <summary>Adds the id (if not in the open page already) and answers once a write that covers it is stored.</summary>
    public async Task AddAsync(string lineUserId)
    {
        if (Open.Add(lineUserId))
        {
            _changes++;
        }

        // Also when already listed: an earlier addition of the same id may still be on its way to storage.
        var needed = _changes;
        while (_saved < needed)
        {
            if (_writing is null || _writing.IsCompleted)
            {
                _writing = WriteAsync();
            }

            await _writing;
        }
    }

    private async Task WriteAsync()
    {
        while (Open.Count >= pageSize)
        {
            var sealing = Open.First(pageSize);
            await storePage(SealedPages, sealing);
            foreach (var id in sealing)
            {
                Open.Remove(id);
            }

            SealedPages++;
        }

        var covering = _changes;
        await writeOwner(Open, SealedPages);
        _saved = Math.Max(_saved, covering);
    }
}
