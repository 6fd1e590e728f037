using System.Buffers.Binary;
using System.Collections;
using System.Collections.Immutable;

namespace Stepcast.Grains.Friends;

/// <summary>
/// The open page of a <see cref="PagedIdList"/>: a sorted set of LINE user ids, those in LINE's form held as 128-bit
/// numbers in one array, any others as strings. A bucket's page is rewritten on every new friend, long after most of
/// its ids arrived: as strings scattered over the heap, serialising them cost ~8 µs of cache misses a write, against
/// ~1 µs from one array (benchmarks/history.md, session 16). Enumerates in ordinal order, as text.
/// </summary>
public sealed class IdPage : IEnumerable<string>
{
    private readonly List<UInt128> _packed = [];
    private readonly List<string> _others = [];

    public int Count => _packed.Count + _others.Count;

    /// <summary>A page as stored: its packed ids (in order) and its other ids (any order; rows from before packing hold every id there).</summary>
    public static IdPage Load(byte[]? packed, IEnumerable<string> others)
    {
        var page = new IdPage();
        var count = (packed?.Length ?? 0) / PackedLineUserIds.BytesPerId;
        page._packed.Capacity = count;
        for (var i = 0; i < count; i++)
        {
            page._packed.Add(BinaryPrimitives.ReadUInt128BigEndian(packed.AsSpan(i * PackedLineUserIds.BytesPerId)));
        }

        foreach (var id in others)
        {
            page.Add(id);
        }

        return page;
    }

    /// <summary>Adds the id; false when it was already here.</summary>
    public bool Add(string id)
    {
        if (PackedLineUserIds.TryPack(id, out var number))
        {
            var at = _packed.BinarySearch(number);
            if (at >= 0)
            {
                return false;
            }

            _packed.Insert(~at, number);
            return true;
        }

        var other = _others.BinarySearch(id, StringComparer.Ordinal);
        if (other >= 0)
        {
            return false;
        }

        _others.Insert(~other, id);
        return true;
    }

    public bool Remove(string id) =>
        PackedLineUserIds.TryPack(id, out var number) ? _packed.Remove(number) : _others.Remove(id);

    /// <summary>The first <paramref name="count"/> ids in ordinal order (they stay in the page).</summary>
    public ImmutableArray<string> First(int count) => [.. this.Take(count)];

    /// <summary>The ids in LINE's form, 16 bytes each in order, or null when there are none.</summary>
    public byte[]? PackedBytes()
    {
        if (_packed.Count == 0)
        {
            return null;
        }

        var bytes = new byte[_packed.Count * PackedLineUserIds.BytesPerId];
        for (var i = 0; i < _packed.Count; i++)
        {
            BinaryPrimitives.WriteUInt128BigEndian(bytes.AsSpan(i * PackedLineUserIds.BytesPerId), _packed[i]);
        }

        return bytes;
    }

    /// <summary>The ids not in LINE's form, in ordinal order.</summary>
    public IReadOnlyList<string> Others => _others;

    /// <summary>
    /// The page as a row stores it: the ids in LINE's form packed and the others as text, or every id as text when not
    /// packing (<see cref="EngineOptions.PackLineUserIds"/>). Copies: storage may serialise them after an await.
    /// </summary>
    public (List<string> Text, byte[]? Packed) Stored(bool pack) => pack ? ([.. _others], PackedBytes()) : ([.. this], null);

    public IEnumerator<string> GetEnumerator()
    {
        // Two sorted runs merged; the packed ones become text as they are reached.
        var other = 0;
        foreach (var number in _packed)
        {
            var id = PackedLineUserIds.Text(number);
            while (other < _others.Count && string.CompareOrdinal(_others[other], id) < 0)
            {
                yield return _others[other++];
            }

            yield return id;
        }

        while (other < _others.Count)
        {
            yield return _others[other++];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
