using Stepcast.Grains.Friends;

namespace Stepcast.Tests.Domain;

public sealed class PackedLineUserIdsTests
{
    [Fact]
    public void Ids_in_LINEs_form_pack_to_16_bytes_each_and_come_back_with_the_others_in_ordinal_order()
    {
        string[] sorted =
        [
            "U0000000000000000000000000000000a",
            "U4af4980629a1c0e62ab0a9c1d33f7eb2",
            "U4af4980629A1C0E62AB0A9C1D33F7EB2", // upper-case hex: not LINE's form, stays text
            "U4af4980629a1c0e62ab0a9c1d33f7eb",  // 31 digits
            "Uffffffffffffffffffffffffffffffff",
            "Uimported-7",
            "line-user",
        ];
        sorted = [.. sorted.Order(StringComparer.Ordinal)];

        var (others, packed) = IdPage.Load(null, sorted).Stored(pack: true);

        Assert.Equal(3 * PackedLineUserIds.BytesPerId, packed?.Length);
        Assert.Equal(["U4af4980629A1C0E62AB0A9C1D33F7EB2", "U4af4980629a1c0e62ab0a9c1d33f7eb", "Uimported-7", "line-user"], others.Order(StringComparer.Ordinal));
        Assert.Equal(sorted, IdPage.Load(packed, others));
    }

    [Fact]
    public void A_list_with_nothing_in_LINEs_form_packs_to_nothing_and_an_empty_one_unpacks_to_nothing()
    {
        var (others, packed) = IdPage.Load(null, ["U1", "U2"]).Stored(pack: true);

        Assert.Null(packed);
        Assert.Equal(["U1", "U2"], others);
        Assert.Empty(IdPage.Load(null, []));
    }

    [Fact]
    public void An_open_page_keeps_each_id_once_in_ordinal_order_and_stores_its_LINE_form_ids_packed()
    {
        var page = IdPage.Load(null, ["Uzz", "U00000000000000000000000000000002"]); // as a row from before packing

        Assert.True(page.Add("U00000000000000000000000000000001"));
        Assert.True(page.Add("Uimported"));
        Assert.False(page.Add("U00000000000000000000000000000002"));
        Assert.False(page.Add("Uzz"));

        Assert.Equal(["U00000000000000000000000000000001", "U00000000000000000000000000000002", "Uimported", "Uzz"], page);
        Assert.Equal(["U00000000000000000000000000000001", "U00000000000000000000000000000002"], page.First(2).ToArray());
        Assert.Equal(2 * PackedLineUserIds.BytesPerId, page.PackedBytes()?.Length);
        Assert.Equal(["Uimported", "Uzz"], page.Others);
        Assert.Equal(page, IdPage.Load(page.PackedBytes(), page.Others));

        Assert.True(page.Remove("U00000000000000000000000000000001"));
        Assert.True(page.Remove("Uzz"));
        Assert.False(page.Remove("Uzz"));
        Assert.Equal(["U00000000000000000000000000000002", "Uimported"], page);
    }
}
