namespace Stepcast.Grains.Campaigns;

/// <summary>LINE user ids as LINE issues them: <c>U</c> followed by 32 lowercase hexadecimal digits.</summary>
public static class LineUserIds
{
    public const int Length = 33;

    public static bool IsValid(ReadOnlySpan<char> id)
    {
        if (id.Length != Length || id[0] != 'U')
        {
            return false;
        }

        foreach (var c in id[1..])
        {
            if (!char.IsAsciiDigit(c) && c is < 'a' or > 'f')
            {
                return false;
            }
        }

        return true;
    }
}
