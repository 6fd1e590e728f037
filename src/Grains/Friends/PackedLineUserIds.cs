using System.Buffers;
using System.Buffers.Binary;
using Stepcast.Grains.Campaigns;

namespace Stepcast.Grains.Friends;

/// <summary>
/// LINE user ids in LINE's own form (<c>U</c> and 32 lowercase hexadecimal digits) as the number their digits spell,
/// held and stored that way by <see cref="IdPage"/>: a row half the size, written without touching a string per id.
/// Stored big-endian, 16 bytes each, so the bytes' order is the text's ordinal order. Any other id (tests, ids imported
/// from elsewhere) stays text.
/// </summary>
public static class PackedLineUserIds
{
    public const int BytesPerId = 16;

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
