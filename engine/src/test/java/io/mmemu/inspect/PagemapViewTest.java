package io.mmemu.inspect;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import io.mmemu.vm.KernelConfig;
import io.mmemu.vm.Pagemap;
import io.mmemu.vm.ThpMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The inspection pagemap (a walk of the tables) against the engine's own per-page computation
 * ({@link io.mmemu.vm.AddressSpace#pagemap}, a lookup and a walk per address): two independent
 * paths to the same words, page by page, for both kernel builds; and the binary form's bytes.
 */
class PagemapViewTest
{
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void everyWordEqualsTheEngines(final boolean mainline) throws IOException
    {
        final KernelConfig kernel = mainline ? KernelConfig.MAINLINE : new KernelConfig(false, false);
        try (Scenario s = new Scenario(kernel))
        {
            final Snapshot snapshot = Snapshot.of(s.space, ThpMode.ALWAYS);
            final long start = Scenario.BASE - 0x10000;
            final long end = Scenario.BASE + 0x1000000;
            final List<Long> vas = new ArrayList<>();
            final List<Long> words = new ArrayList<>();
            PagemapView.forEach(snapshot, start, end, (va, word) ->
            {
                vas.add(va);
                words.add(word);
            });
            assertEquals((end - start) >>> 12, vas.size(), "one word per page");
            int present = 0;
            for (int i = 0; i < vas.size(); i++)
            {
                assertEquals(start + 4096L * i, vas.get(i));
                assertEquals(s.space.pagemap(vas.get(i)), words.get(i), () -> "word of 0x" + Long.toHexString(start));
                present += words.get(i) < 0 ? 1 : 0;
            }
            assertTrue(present > 20, "the range holds present pages: " + present);
            // the moved VMA and the executable one live in other PUD entries
            for (final long va : new long[] {Scenario.BASE + (1L << 30), Scenario.BASE + (1L << 31) + 0x1000})
            {
                assertEquals(s.space.pagemap(va), PagemapView.word(snapshot, va));
                assertNotEquals(0, PagemapView.word(snapshot, va) & Pagemap.PRESENT);
            }

            final ByteArrayOutputStream binary = new ByteArrayOutputStream();
            PagemapView.write(snapshot, start, end, binary);
            final ByteBuffer bytes = ByteBuffer.wrap(binary.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(8 * words.size(), bytes.remaining());
            for (final long word : words)
            {
                assertEquals(word, bytes.getLong());
            }
        }
    }
}
