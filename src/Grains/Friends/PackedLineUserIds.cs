using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Immutable;
using Stepcast.Grains.Campaigns;

namespace Stepcast.Grains.Friends;

/// <summary>
/// LINE user ids in LINE's own form (<c>U</c> and 32 lowercase hexadecimal digits) stored as their 16 bytes, in the
/// id lists of directory buckets and wake slots: a row half the size, written without touching a string per id. The
/// bytes are the digits' value, big-endian, so their order is the text's ordinal order. Any other id (tests, ids
/// imported from elsewhere) stays text, beside the packed ones.
/// </summary>
public static class PackedLineUserIds
{
    public const int BytesPerId = 16;

    /// <summary>
    /// Packs the ids in LINE's form, in the order given, and appends the others to <paramref name="others"/>; null
    /// when there are none to pack.
    /// </summary>
    public static byte[]? Pack(IReadOnlyList<string> ids, List<string> others)
    {
        // Sized for the usual case where every id is in LINE's form; trimmed when some were not.
        var packed = new byte[ids.Count * BytesPerId];
        var at = 0;
        foreach (var id in ids)
        {
            if (TryPack(id, out var number))
            {
                BinaryPrimitives.WriteUInt128BigEndian(packed.AsSpan(at), number);
                at += BytesPerId;
            }
            else
            {
                others.Add(id);
            }
        }

        return at == 0 ? null : at == packed.Length ? packed : packed[..at];
    }

    /// <summary>A sealed page's ids as stored: the others as text and the rest packed, or all as text when not packing.</summary>
    public static (ImmutableArray<string> Others, byte[]? Packed) Split(ImmutableArray<string> ids, bool pack)
    {
        if (!pack)
        {
            return (ids, null);
        }

        var others = new List<string>();
        var packed = Pack(ids, others);
        return ([.. others], packed);
    }

    /// <summary>
    /// The ids of a stored list: the packed ones and the others merged in ordinal order, each part stored in that
    /// order (as <see cref="Pack"/> keeps it).
    /// </summary>
    public static List<string> Unpack(byte[]? packed, IReadOnlyList<string> others)
    {
        var count = (packed?.Length ?? 0) / BytesPerId;
        var ids = new List<string>(count + others.Count);
        var other = 0;
        for (var i = 0; i < count; i++)
        {
            var id = Text(BinaryPrimitives.ReadUInt128BigEndian(packed.AsSpan(i * BytesPerId)));
            while (other < others.Count && string.CompareOrdinal(others[other], id) < 0)
            {
                ids.Add(others[other++]);
            }

            ids.Add(id);
        }

        while (other < others.Count)
        {
            ids.Add(others[other++]);
        }

        return ids;
    }

    /// <inheritdoc cref="Unpack(byte[], IReadOnlyList{string})"/>
    public static ImmutableArray<string> UnpackImmutable(byte[]? packed, ImmutableArray<string> others) =>
        packed is null ? others : [.. Unpack(packed, others)];

    /// <summary>The id's 32 digits as a number, when it is in LINE's form; upper-case digits would come back lower-case, so they do not count.</summary>
    public static bool TryPack(string id, out UInt128 number)
    {
        Span<byte> bytes = stackalloc byte[BytesPerId];
        if (id.Length == LineUserIds.Length && id[0] == 'U'
            && !id.AsSpan(1).ContainsAnyInRange('A', 'F')
            && Convert.FromHexString(id.AsSpan(1), bytes, out _, out var written) == OperationStatus.Done
            && written == BytesPerId)
        {
            number = BinaryPrimitives.ReadUInt128BigEndian(bytes);
            return true;
        }

        number = default;
        return false;
    }

    /// <summary>The id in LINE's form of a packed number.</summary>
    public static string Text(UInt128 number)
    {
        Span<byte> bytes = stackalloc byte[BytesPerId];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, number);
        Span<char> chars = stackalloc char[LineUserIds.Length];
        chars[0] = 'U';
        Convert.TryToHexStringLower(bytes, chars[1..], out _);
        return new string(chars);
    }
}
